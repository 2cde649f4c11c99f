"""Frames -> TCP segments (link layer, IPv4/IPv6, TCP), with `struct`, no per-packet scapy.

Specs:
- link types: the tcpdump.org LINKTYPE registry (draft-ietf-opsawg-pcaplinktype):
  0 NULL and 108 LOOP (4-byte address family, either byte order: AF_INET 2, AF_INET6
  24/28/30), 1 Ethernet (IEEE 802.3) with 802.1Q/802.1ad/QinQ tags (TPID 0x8100,
  0x88a8, 0x9100, any depth), 101 RAW and 12/14 (the platform DLT_RAW values; the IP
  version nibble decides), 228 IPv4, 229 IPv6, 113 LINUX_SLL, 276 LINUX_SLL2, 239 NFLOG
  (TLVs; the payload TLV, type 9, holds the IP packet).
- IPv4: RFC 791 (options skipped by IHL; total length trims link-layer padding).
- IPv6: RFC 8200 (extension headers hop-by-hop, routing, destination options,
  fragment) and RFC 4302 (AH); ESP (RFC 4303) and "no next header" end the walk.
- Fragments: RFC 791 section 3.2 and RFC 8200 section 4.5, in `dpi/ipfrag.py`.
- TCP: RFC 9293 section 3.1 (data offset; options are skipped, not interpreted).

A frame captured short (snaplen) still yields a Segment when the 20-byte TCP header is
there: `missing` counts payload bytes the IP length says were on the wire but not
captured. Not supported: tunnels (GRE, IP-in-IP, VXLAN, GTP, MPLS, PPPoE), TCP inside
ICMP errors, IPv6 jumbograms beyond the captured bytes, 802.3 LLC/SNAP frames.

Errors (`DecodeError`) name offsets and sizes, never bytes.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dpi.ipfrag import FragmentReassembler

if TYPE_CHECKING:
    from dpi.capture import Frame


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
URG = 0x20
ECE = 0x40
CWR = 0x80

ETH_IPV4 = 0x0800
ETH_IPV6 = 0x86DD
# 802.1Q, 802.1ad (S-tag) and the pre-standard QinQ TPID; tags may stack at any depth.
_VLAN_TPIDS = frozenset({0x8100, 0x88A8, 0x9100})

_PROTO_TCP = 6
# IPv6 extension headers we walk (RFC 8200 section 4 / IANA "IPv6 Extension Header Types").
_IP6_HOPOPTS = 0
_IP6_ROUTING = 43
_IP6_FRAGMENT = 44
_IP6_AH = 51
_IP6_DSTOPTS = 60
_IP6_EXT_8 = frozenset({_IP6_HOPOPTS, _IP6_ROUTING, _IP6_DSTOPTS})  # length in 8-octet units

# BSD address family values written by loopback capture (NULL/LOOP link types).
_AF_TO_ETHERTYPE = {2: ETH_IPV4, 24: ETH_IPV6, 28: ETH_IPV6, 30: ETH_IPV6}
_NFULA_PAYLOAD = 9  # NFLOG TLV holding the packet (linux/netfilter/nfnetlink_log.h)
# NFLOG TLV types carry netlink flags in their top bits (NLA_F_NESTED, NLA_F_NET_BYTEORDER).
_NLA_TYPE_MASK = 0x3FFF

_IPV4_FIXED = struct.Struct("!BxHHHxB")  # ver/ihl, total length, id, flags/offset, proto
_IPV6_FIXED = struct.Struct("!HB")  # payload length, next header (at offset 4)
_TCP_FIXED = struct.Struct("!HHIIH")  # ports, seq, ack, data offset/flags
_U16_LE = struct.Struct("<H")
_U16_BE = struct.Struct(">H")

# (ethertype or 0 for "not IP", offset of the network header, bytes holding it)
_LinkResult = tuple[int, int, bytes]


def _peel_vlans(data: bytes, et: int, off: int) -> _LinkResult:
    """Skip stacked 802.1Q/802.1ad tags; each is 4 bytes ending in the next type."""
    n = len(data)
    while et in _VLAN_TPIDS:
        if n < off + 4:
            raise DecodeError(f"VLAN tag at offset {off} cut short (frame has {n} bytes)")
        et = (data[off + 2] << 8) | data[off + 3]
        off += 4
    return et, off, data


def _link_ethernet(data: bytes) -> _LinkResult:
    if len(data) < 14:
        raise DecodeError(f"Ethernet header needs 14 bytes, frame has {len(data)}")
    et = (data[12] << 8) | data[13]
    if et in _VLAN_TPIDS:
        return _peel_vlans(data, et, 14)
    return et, 14, data


def _link_null(data: bytes) -> _LinkResult:
    """NULL (0) and LOOP (108): a 4-byte family, host order (NULL) or network order
    (LOOP, but writers disagree): the family values are small, so the order whose value
    fits in 16 bits wins."""
    if len(data) < 4:
        raise DecodeError(f"loopback header needs 4 bytes, frame has {len(data)}")
    family = data[0] | (data[1] << 8) | (data[2] << 16) | (data[3] << 24)
    if family > 0xFFFF:
        family = (data[0] << 24) | (data[1] << 16) | (data[2] << 8) | data[3]
    return _AF_TO_ETHERTYPE.get(family, 0), 4, data


def _link_raw(data: bytes) -> _LinkResult:
    """RAW (101, and 12/14): no link header; the IP version nibble decides."""
    if not data:
        raise DecodeError("raw IP frame is empty")
    version = data[0] >> 4
    return (ETH_IPV4 if version == 4 else ETH_IPV6 if version == 6 else 0), 0, data


def _link_ipv4(data: bytes) -> _LinkResult:
    return ETH_IPV4, 0, data


def _link_ipv6(data: bytes) -> _LinkResult:
    return ETH_IPV6, 0, data


def _link_sll(data: bytes) -> _LinkResult:
    """LINUX_SLL (113): 16-byte header, protocol (an EtherType) at offset 14."""
    if len(data) < 16:
        raise DecodeError(f"Linux cooked header needs 16 bytes, frame has {len(data)}")
    et = (data[14] << 8) | data[15]
    if et in _VLAN_TPIDS:
        return _peel_vlans(data, et, 16)
    return et, 16, data


def _link_sll2(data: bytes) -> _LinkResult:
    """LINUX_SLL2 (276): 20-byte header, protocol (an EtherType) at offset 0."""
    if len(data) < 20:
        raise DecodeError(f"Linux cooked v2 header needs 20 bytes, frame has {len(data)}")
    et = (data[0] << 8) | data[1]
    if et in _VLAN_TPIDS:
        return _peel_vlans(data, et, 20)
    return et, 20, data


def _link_nflog(data: bytes) -> _LinkResult:
    """NFLOG (239): 4-byte header (family, version, resource id), then TLVs whose length
    and type are in the capturing host's byte order; the payload TLV holds the packet."""
    n = len(data)
    if n < 4:
        raise DecodeError(f"NFLOG header needs 4 bytes, frame has {n}")
    unpack = _U16_LE.unpack_from
    if n >= 8:
        le_len = unpack(data, 4)[0]
        le_type = unpack(data, 6)[0] & _NLA_TYPE_MASK
        # TLV types are small numbers: a type that only fits read big-endian means the
        # capturing host was big-endian.
        if le_type > 0xFF or le_len < 4:
            unpack = _U16_BE.unpack_from
    pos = 4
    while pos + 4 <= n:
        tlv_len = unpack(data, pos)[0]
        tlv_type = unpack(data, pos + 2)[0] & _NLA_TYPE_MASK
        if tlv_len < 4:
            raise DecodeError(f"NFLOG TLV at offset {pos} has length {tlv_len}")
        if tlv_type == _NFULA_PAYLOAD:
            payload = data[pos + 4 : pos + tlv_len]
            return _link_raw(payload) if payload else (0, 0, payload)
        pos += (tlv_len + 3) & ~3
    return 0, 0, data  # no payload TLV: nothing to decode


_LINKS: dict[int, Callable[[bytes], _LinkResult]] = {
    0: _link_null,
    1: _link_ethernet,
    12: _link_raw,
    14: _link_raw,
    101: _link_raw,
    108: _link_null,
    113: _link_sll,
    228: _link_ipv4,
    229: _link_ipv6,
    239: _link_nflog,
    276: _link_sll2,
}

SUPPORTED_LINKTYPES: frozenset[int] = frozenset(_LINKS)


@dataclass(slots=True, kw_only=True)
class DecodeStats:
    """Counters for one scan (mutable: the decoder updates them per frame)."""

    frames: int = 0  # every frame given to decode()
    tcp: int = 0  # frames that gave a Segment
    non_tcp: int = 0  # not TCP, or a fragment still waiting for the rest
    decode_errors: int = 0  # DecodeError raised
    unsupported_linktype: int = 0
    fragments: int = 0  # IPv4/IPv6 fragments of TCP (IPv6: of any protocol) seen
    reassembled: int = 0  # datagrams completed from fragments
    fragments_expired: int = 0  # datagrams given up: timeout or the pending limits
    fragments_dropped: int = 0  # fragments refused: snaplen cut, too large, too many
    truncated: int = 0  # segments with `missing` > 0 (snaplen)


class Decoder:
    """Decodes frames of one scan; holds the IP fragment reassembler, so use one per scan."""

    def __init__(self, reassembler: FragmentReassembler | None = None) -> None:
        self.stats = DecodeStats()
        self.fragments = reassembler if reassembler is not None else FragmentReassembler()
        self._links = _LINKS
        self._cut_fragments = 0  # fragments refused because the snaplen cut them

    def decode(self, frame: Frame) -> Segment | None:
        """The TCP segment in `frame`, or None when it carries no TCP (or only part of a
        fragmented datagram). Raises `DecodeError` for a malformed frame."""
        stats = self.stats
        stats.frames += 1
        data = frame.data
        try:
            if frame.linktype == 1 and len(data) >= 14 and data[12] == 0x08 and data[13] == 0:
                # Untagged Ethernet + IPv4 is the bulk of most captures: skip the
                # dispatch (same result as _link_ethernet, a few hundred ns less).
                seg = self._ipv4(frame, data, 14)
            else:
                link = self._links.get(frame.linktype)
                if link is None:
                    stats.unsupported_linktype += 1
                    return None
                et, off, data = link(data)
                if et == ETH_IPV4:
                    seg = self._ipv4(frame, data, off)
                elif et == ETH_IPV6:
                    seg = self._ipv6(frame, data, off)
                else:
                    seg = None
        except DecodeError:
            stats.decode_errors += 1
            raise
        if seg is None:
            stats.non_tcp += 1
        else:
            stats.tcp += 1
            if seg.missing:
                stats.truncated += 1
        return seg

    # -- IPv4 -----------------------------------------------------------------------

    def _ipv4(self, frame: Frame, data: bytes, off: int) -> Segment | None:
        n = len(data)
        if n - off < 20:
            raise DecodeError(f"IPv4 header at offset {off} needs 20 bytes, {n - off} captured")
        vihl, total, ident, frag, proto = _IPV4_FIXED.unpack_from(data, off)
        if vihl >> 4 != 4:
            raise DecodeError(f"IPv4 header at offset {off} has version {vihl >> 4}")
        ihl = (vihl & 0x0F) * 4
        if ihl < 20:
            raise DecodeError(f"IPv4 header length {ihl} at offset {off} is below 20")
        if n - off < ihl:
            raise DecodeError(f"IPv4 header at offset {off} needs {ihl} bytes, {n - off} captured")
        if total == 0:
            total = n - off  # TCP segmentation offload writes 0: trust the capture
        elif total < ihl:
            raise DecodeError(
                f"IPv4 total length {total} at offset {off} is below its header {ihl}"
            )
        wire_end = off + total
        cap_end = min(wire_end, n)  # trims Ethernet padding / FCS
        if frag & 0x3FFF:  # more-fragments flag or a non-zero offset
            if proto != _PROTO_TCP:
                return None  # only TCP is reassembled: other fragments are not ours
            return self._ipv4_fragment(frame, data, off, ihl, cap_end, wire_end, ident, frag)
        if proto != _PROTO_TCP:
            return None
        return self._tcp(
            frame,
            data,
            off + ihl,
            cap_end,
            wire_end,
            data[off + 12 : off + 16],
            data[off + 16 : off + 20],
        )

    def _ipv4_fragment(
        self,
        frame: Frame,
        data: bytes,
        off: int,
        ihl: int,
        cap_end: int,
        wire_end: int,
        ident: int,
        frag: int,
    ) -> Segment | None:
        stats = self.stats
        stats.fragments += 1
        if cap_end < wire_end:
            # A fragment cut by the snaplen leaves a hole that never fills.
            self._cut_fragments += 1
            self._sync_fragment_stats()
            return None
        src = data[off + 12 : off + 16]
        dst = data[off + 16 : off + 20]
        key = (4, src, dst, _PROTO_TCP, ident)
        done = self.fragments.add(
            key,
            (frag & 0x1FFF) * 8,
            bool(frag & 0x2000),
            data[off + ihl : cap_end],
            frame.ts_ns,
            _PROTO_TCP,
        )
        self._sync_fragment_stats()
        if done is None:
            return None
        stats.reassembled += 1
        payload = done[1]
        return self._tcp(frame, payload, 0, len(payload), len(payload), src, dst)

    # -- IPv6 -----------------------------------------------------------------------

    def _ipv6(self, frame: Frame, data: bytes, off: int) -> Segment | None:
        n = len(data)
        if n - off < 40:
            raise DecodeError(f"IPv6 header at offset {off} needs 40 bytes, {n - off} captured")
        if data[off] >> 4 != 6:
            raise DecodeError(f"IPv6 header at offset {off} has version {data[off] >> 4}")
        plen, nh = _IPV6_FIXED.unpack_from(data, off + 4)
        pos = off + 40
        # Payload length 0 means a jumbogram (RFC 2675) or offload: trust the capture.
        wire_end = pos + plen if plen else n
        cap_end = min(wire_end, n)
        src = data[off + 8 : off + 24]
        dst = data[off + 24 : off + 40]
        return self._ipv6_chain(frame, data, pos, cap_end, wire_end, nh, src, dst)

    def _ipv6_chain(
        self,
        frame: Frame,
        data: bytes,
        pos: int,
        cap_end: int,
        wire_end: int,
        nh: int,
        src: bytes,
        dst: bytes,
    ) -> Segment | None:
        """Walk extension headers from `pos` until TCP, a fragment or the end."""
        while nh != _PROTO_TCP:
            if nh in _IP6_EXT_8 or nh == _IP6_AH:
                if cap_end - pos < 2:
                    raise DecodeError(f"IPv6 extension header {nh} at offset {pos} cut short")
                hlen = (data[pos + 1] + 1) * 8 if nh != _IP6_AH else (data[pos + 1] + 2) * 4
                if pos + hlen > wire_end:
                    raise DecodeError(
                        f"IPv6 extension header {nh} at offset {pos} ({hlen} bytes) overruns the payload"
                    )
                if pos + hlen > cap_end:
                    raise DecodeError(f"IPv6 extension header {nh} at offset {pos} cut short")
                nh = data[pos]
                pos += hlen
            elif nh == _IP6_FRAGMENT:
                return self._ipv6_fragment(frame, data, pos, cap_end, wire_end, src, dst)
            else:
                return None  # UDP, ICMPv6, ESP, no next header, ...: not TCP
        return self._tcp(frame, data, pos, cap_end, wire_end, src, dst)

    def _ipv6_fragment(
        self,
        frame: Frame,
        data: bytes,
        pos: int,
        cap_end: int,
        wire_end: int,
        src: bytes,
        dst: bytes,
    ) -> Segment | None:
        if cap_end - pos < 8:
            raise DecodeError(f"IPv6 fragment header at offset {pos} cut short")
        nh = data[pos]
        offflags = (data[pos + 2] << 8) | data[pos + 3]
        ident = int.from_bytes(data[pos + 4 : pos + 8], "big")
        offset = offflags & 0xFFF8
        more = bool(offflags & 1)
        if offset == 0 and not more:
            # Atomic fragment (RFC 6946): not really fragmented, keep walking.
            return self._ipv6_chain(frame, data, pos + 8, cap_end, wire_end, nh, src, dst)
        stats = self.stats
        stats.fragments += 1
        if cap_end < wire_end:
            self._cut_fragments += 1
            self._sync_fragment_stats()
            return None
        key = (6, src, dst, ident)
        # Only the offset-0 fragment's next header counts (RFC 8200 section 4.5).
        done = self.fragments.add(
            key, offset, more, data[pos + 8 : cap_end], frame.ts_ns, nh if offset == 0 else -1
        )
        self._sync_fragment_stats()
        if done is None:
            return None
        stats.reassembled += 1
        first_nh, payload = done
        return self._ipv6_chain(frame, payload, 0, len(payload), len(payload), first_nh, src, dst)

    def _sync_fragment_stats(self) -> None:
        fs = self.fragments.stats
        self.stats.fragments_expired = fs.expired + fs.evicted
        self.stats.fragments_dropped = fs.dropped + self._cut_fragments

    # -- TCP ------------------------------------------------------------------------

    def _tcp(
        self,
        frame: Frame,
        data: bytes,
        toff: int,
        cap_end: int,
        wire_end: int,
        src: bytes,
        dst: bytes,
    ) -> Segment:
        captured = cap_end - toff
        if captured < 20:
            raise DecodeError(f"TCP header at offset {toff} needs 20 bytes, {captured} captured")
        sport, dport, seq, ack, offflags = _TCP_FIXED.unpack_from(data, toff)
        hlen = (offflags >> 12) * 4
        if hlen < 20 or toff + hlen > wire_end:
            raise DecodeError(
                f"TCP data offset {hlen} at offset {toff} is invalid for a {wire_end - toff}-byte segment"
            )
        pstart = toff + hlen
        if pstart < cap_end:
            payload = data[pstart:cap_end]
            missing = wire_end - cap_end
        else:
            payload = b""
            missing = wire_end - pstart
        if missing:
            # Never claim more than the capture says was cut off (the IP length could be
            # wrong; NFLOG payloads have no wire length at all).
            cut = frame.wire_len - len(frame.data) if frame.wire_len else missing
            missing = min(missing, cut) if cut > 0 else 0
        return Segment(src, dst, sport, dport, seq, ack, offflags & 0xFF, payload, missing)
