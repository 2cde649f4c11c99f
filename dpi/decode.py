"""Frames -> TCP segments (link layer, IPv4/IPv6, TCP), with `struct`, no per-packet scapy.

Specs:
- link types: the tcpdump.org LINKTYPE registry (draft-ietf-opsawg-pcaplinktype):
  0 NULL and 108 LOOP (4-byte address family, either byte order: AF_INET 2, AF_INET6
  24/28/30), 1 Ethernet (IEEE 802.3) with 802.1Q/802.1ad/QinQ tags (TPID 0x8100,
  0x88a8, 0x9100, any depth), 101 RAW and 12/14 (the platform DLT_RAW values; the IP
  version nibble decides), 228 IPv4, 229 IPv6, 113 LINUX_SLL, 276 LINUX_SLL2, 239 NFLOG
  (TLVs; the payload TLV, type 9, holds the IP packet).
- 802.11: 105 IEEE802_11 (the MAC header first), 127 IEEE802_11_RADIOTAP (radiotap.org:
  version 0, `it_len`, chained presence words; the Flags field says FCS at the end, a
  bad FCS and padding after the MAC header) and 192 PPI (the PPI header's `pph_len` and
  `pph_dlt`: the packet inside is decoded with that link type). IEEE 802.11-2020
  section 9.2.3/9.3.2: data frames (type 2) with the four-address form (ToDS and
  FromDS), QoS Control and HT Control (+HTC) fields; the body is LLC/SNAP (RFC 1042
  and 802.1H OUIs) with an EtherType, so IP inside is read as from Ethernet.
  Management, control, null-data and protected (encrypted) frames carry nothing we can
  read (not TCP); A-MSDU aggregates, 802.11 fragments and frames whose radiotap
  header flags a bad FCS are `DecodeError`s (counted as undecodable frames).
- IPv4: RFC 791 (options skipped by IHL; total length trims link-layer padding).
- IPv6: RFC 8200 (extension headers hop-by-hop, routing, destination options,
  fragment) and RFC 4302 (AH); ESP (RFC 4303) and "no next header" end the walk.
- Fragments: RFC 791 section 3.2 and RFC 8200 section 4.5, in `dpi/ipfrag.py`.
- TCP: RFC 9293 section 3.1 (data offset; options are skipped, not interpreted).

A frame captured short (snaplen) still yields a Segment when the 20-byte TCP header is
there: `missing` counts payload bytes the IP length says were on the wire but not
captured. Inside a tunnel, the inner IP length is trusted for that count even when the
outer packet looks whole: traffic mirrors (AWS VPC Traffic Mirroring's packet length,
ERSPAN's truncation bit) cut the inner packet and rewrite the outer lengths, so the cut
becomes a gap in reassembly, never an error.

Tunnels, peeled recursively (at most `MAX_TUNNEL_DEPTH` levels) and counted per type in
`DecodeStats.tunnels`; what comes out is the inner conversation, the outer addresses are
dropped:
- VXLAN, RFC 7348 section 5: UDP destination port 4789 (AWS VPC Traffic Mirroring), the
  I flag set and a plausible inner Ethernet frame.
- GENEVE, RFC 8926 section 3: UDP destination port 6081 (AWS Gateway Load Balancer,
  cloud packet mirroring), version 0, options skipped by their length, protocol type
  Transparent Ethernet Bridging (0x6558) or IPv4/IPv6, and a plausible inner packet.
  A datagram on either port that fails the plausibility check is ordinary UDP.
- GRE, RFC 2784 with the key and sequence number extensions of RFC 2890 (checksum, key,
  sequence skipped): IPv4, IPv6, Transparent Ethernet Bridging, MPLS; version 1 (PPTP)
  and RFC 1701 source routing are not supported (counted, not decoded).
- ERSPAN, draft-foschiano-erspan-03: type I (GRE 0x88BE without a sequence number: no
  ERSPAN header), type II (0x88BE with one: 8-byte header), type III (0x22EB: 12-byte
  header, the optional 8-byte platform sub-header when the O bit is set; frame type
  Ethernet or IP).
- MPLS, RFC 3032 section 2.1: label stacks (EtherType 0x8847/0x8848, GRE, bounded by
  `MAX_MPLS_LABELS`); the payload after the bottom of stack is guessed from its first
  nibble (4 IPv4, 6 IPv6, 0 a pseudowire control word, RFC 4385, before Ethernet),
  else Ethernet when the frame looks like one.
- IP-in-IP (protocol 4) and IPv6-in-IPv4 (41). IPv4 fragments of GRE and IP-in-IP
  packets are reassembled like TCP's; fragments of UDP are not (RFC 7348 section 4.3:
  VTEPs must not fragment).
- 802.1Q/802.1ad tags inside any of them.

UDP datagrams that are not tunnels go to the `on_udp` hook (DNS answers for the
observers). Not supported: GTP, PPPoE, L2TP, NSH, VXLAN-GPE, TCP inside ICMP errors,
IPv6 jumbograms beyond the captured bytes, 802.3 LLC/SNAP frames, 802.11 mesh control
fields, AVS/Prism headers (link types 119, 163) and the other link types: their frames
are counted in `DecodeStats.unsupported_linktype` (the capture reader warns once per
link type with the count).

Errors (`DecodeError`) name offsets and sizes, never bytes.
"""

from __future__ import annotations

import struct
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dpi.frames import (
    LINKTYPE_ETHERNET,
    LINKTYPE_IEEE802_11,
    LINKTYPE_IEEE802_11_RADIOTAP,
    LINKTYPE_IPV4,
    LINKTYPE_IPV6,
    LINKTYPE_LINUX_SLL,
    LINKTYPE_LINUX_SLL2,
    LINKTYPE_LOOP,
    LINKTYPE_NFLOG,
    LINKTYPE_NULL,
    LINKTYPE_PPI,
    LINKTYPE_RAW,
    LINKTYPE_RAW_DLT12,
    LINKTYPE_RAW_DLT14,
)
from dpi.ipfrag import FragmentReassembler
from protocols._slots import slot_factory, slot_init

if TYPE_CHECKING:
    from dpi.frames import Frame


class DecodeError(Exception):
    """A frame that cannot be decoded. The message names offsets and sizes, never bytes."""


@slot_init
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


# `Segment(...)` at half the cost (protocols/_slots.py): one per TCP packet.
_segment = slot_factory(Segment)

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
_PROTO_UDP = 17
_PROTO_GRE = 47
_PROTO_IPIP = 4  # IPv4 in IP (RFC 2003)
_PROTO_IPV6_IN_IP = 41  # IPv6 in IP (RFC 4213)
# IPv4 fragments reassembled: TCP, and the tunnels that carry it. UDP is left out (RFC
# 7348 section 4.3 forbids fragmenting VXLAN; other UDP is not ours to hold).
_FRAG_PROTOS = frozenset({_PROTO_TCP, _PROTO_GRE, _PROTO_IPIP, _PROTO_IPV6_IN_IP})
# IPv6 extension headers we walk (RFC 8200 section 4 / IANA "IPv6 Extension Header Types").
_IP6_HOPOPTS = 0
_IP6_ROUTING = 43
_IP6_FRAGMENT = 44
_IP6_AH = 51
_IP6_DSTOPTS = 60
_IP6_EXT_8 = frozenset({_IP6_HOPOPTS, _IP6_ROUTING, _IP6_DSTOPTS})  # length in 8-octet units

ETH_TEB = 0x6558  # Transparent Ethernet Bridging: an Ethernet frame follows (GRE, GENEVE)
ETH_MPLS = frozenset({0x8847, 0x8848})  # unicast, multicast (RFC 3032 section 5)
ETH_ERSPAN_2 = 0x88BE  # ERSPAN type I (no GRE sequence number) and type II
ETH_ERSPAN_3 = 0x22EB
_ETH_ARP = 0x0806
# EtherTypes that make an inner Ethernet frame plausible (ARP is real but carries no TCP).
_INNER_ETHERTYPES = frozenset({ETH_IPV4, ETH_IPV6, _ETH_ARP}) | ETH_MPLS | _VLAN_TPIDS

VXLAN_PORTS = frozenset({4789})  # IANA, RFC 7348 section 5 (Linux's old default 8472 is opt-in)
GENEVE_PORTS = frozenset({6081})  # IANA, RFC 8926 section 3.3
# Tunnels nested inside each other: mirrored traffic has two or three levels (ERSPAN in
# GRE carrying a VXLAN overlay with QinQ); 8 leaves room while a crafted packet of
# headers nested in a loop cannot recurse without bound.
MAX_TUNNEL_DEPTH = 8
# MPLS labels in one stack: real stacks have 1-4 (VPN, TE, entropy labels); 16 covers
# segment routing stacks while bounding the walk.
MAX_MPLS_LABELS = 16

# The UDP hook: (src, dst, sport, dport, payload, ts_ns) for datagrams that are no tunnel.
UdpHook = Callable[[bytes, bytes, int, int, bytes, int], None]

# BSD address family values written by loopback capture (NULL/LOOP link types).
_AF_TO_ETHERTYPE = {2: ETH_IPV4, 24: ETH_IPV6, 28: ETH_IPV6, 30: ETH_IPV6}
_NFULA_PAYLOAD = 9  # NFLOG TLV holding the packet (linux/netfilter/nfnetlink_log.h)
# NFLOG TLV types carry netlink flags in their top bits (NLA_F_NESTED, NLA_F_NET_BYTEORDER).
_NLA_TYPE_MASK = 0x3FFF

_IPV4_FIXED = struct.Struct("!BxHHHxB")  # ver/ihl, total length, id, flags/offset, proto
_IPV6_FIXED = struct.Struct("!HB")  # payload length, next header (at offset 4)
_TCP_FIXED = struct.Struct("!HHIIH")  # ports, seq, ack, data offset/flags
# The bulk of most captures in one unpack: Ethernet (its type), an IPv4 header without
# options (ver/ihl, total length, flags/offset, proto, addresses) and the fixed TCP
# header (ports, seq, ack, data offset/flags).
_ETHER_IPV4_TCP = struct.Struct("!12xHBxH2xHxB2x4s4sHHIIH")
_ETHER_IPV4_TCP_LEN = _ETHER_IPV4_TCP.size  # 48: 14 + 20 + 14
_UDP_FIXED = struct.Struct("!HHH")  # ports, length
_GRE_FIXED = struct.Struct("!HH")  # flags/version, protocol type
# GRE flag bits (RFC 2784 section 2.1, RFC 2890 section 2, RFC 1701 for routing)
_GRE_C, _GRE_R, _GRE_K, _GRE_S = 0x8000, 0x4000, 0x2000, 0x1000
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


def _cooked(data: bytes, header: int, at: int, what: str) -> _LinkResult:
    """A Linux cooked header of `header` bytes with the protocol (an EtherType) at `at`."""
    if len(data) < header:
        raise DecodeError(f"{what} header needs {header} bytes, frame has {len(data)}")
    et = (data[at] << 8) | data[at + 1]
    if et in _VLAN_TPIDS:
        return _peel_vlans(data, et, header)
    return et, header, data


def _link_sll(data: bytes) -> _LinkResult:
    """LINUX_SLL (113): 16-byte header, protocol at offset 14."""
    return _cooked(data, 16, 14, "Linux cooked")


def _link_sll2(data: bytes) -> _LinkResult:
    """LINUX_SLL2 (276): 20-byte header, protocol at offset 0."""
    return _cooked(data, 20, 0, "Linux cooked v2")


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


# -- tunnel plausibility (pure functions: no state, no errors) ---------------------------

# What GRE may carry for us (RFC 2784 section 2.4 protocol types are EtherTypes).
_GRE_PAYLOADS = frozenset({ETH_IPV4, ETH_IPV6, ETH_TEB}) | ETH_MPLS | _VLAN_TPIDS


def _ip_plausible(data: bytes, pos: int, end: int, et: int) -> bool:
    """The first byte at `pos` matches the IP version the EtherType announces."""
    if pos >= end:
        return False
    if et == ETH_IPV4:
        return data[pos] >> 4 == 4 and data[pos] & 0x0F >= 5
    if et == ETH_IPV6:
        return data[pos] >> 4 == 6
    return et in _INNER_ETHERTYPES


def _ether_plausible(data: bytes, off: int, end: int) -> bool:
    """An Ethernet header at `off` whose EtherType (after up to two tags) is one that
    mirrored frames carry, followed by a matching IP version where it is IP."""
    if end - off < 14:
        return False
    et = (data[off + 12] << 8) | data[off + 13]
    pos = off + 14
    for _ in range(2):
        if et not in _VLAN_TPIDS:
            break
        if end - pos < 4:
            return False
        et = (data[pos + 2] << 8) | data[pos + 3]
        pos += 4
    return _ip_plausible(data, pos, end, et)


def _vxlan_plausible(data: bytes, start: int, end: int) -> bool:
    """RFC 7348 section 5: the I flag (0x08) set, then an Ethernet frame. Reserved bits
    are not checked: the Group Based Policy extension uses some of them."""
    return end - start >= 8 + 14 and bool(data[start] & 0x08) and _ether_plausible(
        data, start + 8, end
    )


def _geneve_inner(data: bytes, start: int, end: int) -> tuple[int, int] | None:
    """RFC 8926 section 3.4: version 0, options of `Opt Len` 4-byte words, protocol type
    Transparent Ethernet Bridging or IPv4/IPv6. (offset of the inner packet, EtherType)
    when what follows is plausible, else None."""
    if end - start < 8:
        return None
    first = data[start]
    if first >> 6:
        return None  # only version 0 exists
    inner = start + 8 + (first & 0x3F) * 4
    ptype = (data[start + 2] << 8) | data[start + 3]
    if ptype == ETH_TEB:
        ok = _ether_plausible(data, inner, end)
    else:
        ok = ptype in (ETH_IPV4, ETH_IPV6) and _ip_plausible(data, inner, end, ptype)
    return (inner, ptype) if ok else None


# -- 802.11 --------------------------------------------------------------------------

_DOT11_TYPE_DATA = 2
# Frame Control flags (second byte; IEEE 802.11-2020 9.2.4.1.1)
_DOT11_TO_DS, _DOT11_FROM_DS, _DOT11_MORE_FRAGMENTS = 0x01, 0x02, 0x04
_DOT11_PROTECTED, _DOT11_ORDER = 0x40, 0x80
_DOT11_QOS_AMSDU = 0x80  # QoS Control, first byte: A-MSDU present
# LLC header + SNAP OUI that says "an EtherType follows": RFC 1042 and 802.1H (bridge tunnel).
_SNAP_HEADERS = (b"\xaa\xaa\x03\x00\x00\x00", b"\xaa\xaa\x03\x00\x00\xf8")
# radiotap Flags field bits (radiotap.org/fields/Flags)
_RADIOTAP_FCS_AT_END, _RADIOTAP_DATA_PAD, _RADIOTAP_BAD_FCS = 0x10, 0x20, 0x40
# Presence words chain while bit 31 is set; a header longer than this is damage.
_RADIOTAP_MAX_PRESENT_WORDS = 16


def _dot11(data: bytes, off: int, pad_header: bool) -> _LinkResult:
    """An 802.11 MAC frame at `off` (IEEE 802.11-2020 9.2.3, 9.3.2.1). `pad_header`:
    radiotap's data-pad flag, the header is padded to a multiple of 4 bytes."""
    n = len(data)
    if n - off < 24:
        raise DecodeError(f"802.11 header at offset {off} needs 24 bytes, {n - off} captured")
    fc0, fc1 = data[off], data[off + 1]
    if fc0 & 0x03 or (fc0 >> 2) & 0x03 != _DOT11_TYPE_DATA:
        return 0, off, data  # management or control frame, or protocol version 1
    subtype = fc0 >> 4
    if subtype & 0x04 or fc1 & _DOT11_PROTECTED:
        return 0, off, data  # null data (no body), or encrypted: nothing to read
    if fc1 & _DOT11_MORE_FRAGMENTS or data[off + 22] & 0x0F:
        raise DecodeError(f"802.11 fragment at offset {off} (fragments are not reassembled)")
    hlen = 24
    if fc1 & _DOT11_TO_DS and fc1 & _DOT11_FROM_DS:
        hlen += 6  # the fourth address
    if subtype & 0x08:  # QoS data
        if n - off < hlen + 2:
            raise DecodeError(f"802.11 QoS Control at offset {off + hlen} cut short")
        if data[off + hlen] & _DOT11_QOS_AMSDU:
            raise DecodeError(f"802.11 A-MSDU at offset {off} (aggregates are not decoded)")
        hlen += 2
        if fc1 & _DOT11_ORDER:
            hlen += 4  # HT Control
    if pad_header:
        hlen = (hlen + 3) & ~3
    body = off + hlen
    if n - body < 8:
        if n - body < 0:
            raise DecodeError(f"802.11 header at offset {off} ({hlen} bytes) cut short")
        return 0, body, data  # no room for LLC/SNAP: nothing to read
    if data[body : body + 6] not in _SNAP_HEADERS:
        return 0, body, data  # not LLC/SNAP with an EtherType (raw IPX, other SAPs)
    et = (data[body + 6] << 8) | data[body + 7]
    if et in _VLAN_TPIDS:
        return _peel_vlans(data, et, body + 8)
    return et, body + 8, data


def _link_ieee80211(data: bytes) -> _LinkResult:
    """IEEE802_11 (105): the MAC header first (an FCS at the end is trimmed by the IP
    length)."""
    return _dot11(data, 0, False)


def _link_radiotap(data: bytes) -> _LinkResult:
    """IEEE802_11_RADIOTAP (127): radiotap header (little-endian), then 802.11. Only the
    Flags field is read: it follows TSFT (8 bytes, 8-aligned) when both are present."""
    n = len(data)
    if n < 8:
        raise DecodeError(f"radiotap header needs 8 bytes, frame has {n}")
    if data[0] != 0:
        raise DecodeError(f"radiotap version {data[0]} is not 0")
    it_len = data[2] | (data[3] << 8)
    if it_len < 8 or it_len > n:
        raise DecodeError(f"radiotap length {it_len} is invalid for a {n}-byte frame")
    present = data[4] | (data[5] << 8) | (data[6] << 16) | (data[7] << 24)
    pos = 8
    word = present
    while word & 0x80000000:  # another presence word follows
        if pos + 4 > it_len or pos >= 8 + 4 * _RADIOTAP_MAX_PRESENT_WORDS:
            raise DecodeError(f"radiotap presence words overrun the {it_len}-byte header")
        word = int.from_bytes(data[pos : pos + 4], "little")
        pos += 4
    flags = 0
    if present & 0x02:  # Flags
        if present & 0x01:  # TSFT, 8 bytes aligned to 8
            pos = ((pos + 7) & ~7) + 8
        if pos >= it_len:
            raise DecodeError(f"radiotap Flags field beyond the {it_len}-byte header")
        flags = data[pos]
    if flags & _RADIOTAP_BAD_FCS:
        raise DecodeError("802.11 frame with a bad FCS (radiotap flags)")
    if flags & _RADIOTAP_FCS_AT_END and n - it_len >= 4:
        data = data[:-4]
    return _dot11(data, it_len, bool(flags & _RADIOTAP_DATA_PAD))


def _link_ppi(data: bytes) -> _LinkResult:
    """PPI (192): version 0, flags, `pph_len` and `pph_dlt` (little-endian), then a
    packet of link type `pph_dlt` (802.11 in practice)."""
    n = len(data)
    if n < 8:
        raise DecodeError(f"PPI header needs 8 bytes, frame has {n}")
    if data[0] != 0:
        raise DecodeError(f"PPI version {data[0]} is not 0")
    pph_len = data[2] | (data[3] << 8)
    dlt = int.from_bytes(data[4:8], "little")
    if pph_len < 8 or pph_len > n:
        raise DecodeError(f"PPI length {pph_len} is invalid for a {n}-byte frame")
    if dlt == LINKTYPE_IEEE802_11:
        return _dot11(data, pph_len, False)
    inner = _LINKS.get(dlt)
    if inner is None or dlt == LINKTYPE_PPI:
        raise DecodeError(f"PPI carries link type {dlt}, which is not supported")
    return inner(data[pph_len:])


# One reader per link type of `dpi.frames.SUPPORTED_LINKTYPES`.
_LINKS: dict[int, Callable[[bytes], _LinkResult]] = {
    LINKTYPE_NULL: _link_null,
    LINKTYPE_ETHERNET: _link_ethernet,
    LINKTYPE_RAW_DLT12: _link_raw,
    LINKTYPE_RAW_DLT14: _link_raw,
    LINKTYPE_RAW: _link_raw,
    LINKTYPE_LOOP: _link_null,
    LINKTYPE_LINUX_SLL: _link_sll,
    LINKTYPE_IPV4: _link_ipv4,
    LINKTYPE_IPV6: _link_ipv6,
    LINKTYPE_NFLOG: _link_nflog,
    LINKTYPE_LINUX_SLL2: _link_sll2,
    LINKTYPE_IEEE802_11: _link_ieee80211,
    LINKTYPE_IEEE802_11_RADIOTAP: _link_radiotap,
    LINKTYPE_PPI: _link_ppi,
}


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
    udp: int = 0  # UDP datagrams that were no tunnel (handed to the UDP hook, if any)
    duplicates: int = 0  # segments dropped by the duplicate filter (merged sensors)
    # Per tunnel type (vxlan, geneve, gre, erspan1/2/3, mpls, ipip) the packets peeled;
    # `<type>_rejected` a port match whose inner packet was not plausible;
    # `gre_unsupported` GRE versions and routing we do not decode.
    tunnels: Counter[str] = field(default_factory=Counter)


class Decoder:
    """Decodes frames of one scan; holds the IP fragment reassembler, so use one per scan."""

    def __init__(
        self,
        reassembler: FragmentReassembler | None = None,
        *,
        on_udp: UdpHook | None = None,
        vxlan_ports: frozenset[int] = VXLAN_PORTS,
        geneve_ports: frozenset[int] = GENEVE_PORTS,
        max_depth: int = MAX_TUNNEL_DEPTH,
    ) -> None:
        self.stats = DecodeStats()
        self.fragments = reassembler if reassembler is not None else FragmentReassembler()
        self.on_udp = on_udp
        # Set by the scanner while it merges sensors: drops segments seen twice.
        self.dedup: DuplicateFilter | None = None
        self._links = _LINKS
        self._cut_fragments = 0  # fragments refused because the snaplen cut them
        self._vxlan_ports = vxlan_ports
        self._geneve_ports = geneve_ports
        self._max_depth = max_depth
        self._depth = 0  # tunnel levels entered for the frame being decoded

    def decode(self, frame: Frame) -> Segment | None:
        """The TCP segment in `frame`, or None when it carries no TCP (or only part of a
        fragmented datagram). Raises `DecodeError` for a malformed frame."""
        stats = self.stats
        stats.frames += 1
        data = frame.data
        seg = None
        if frame.linktype == 1 and len(data) >= _ETHER_IPV4_TCP_LEN:
            # The common case in one unpack, without the link dispatch: a whole,
            # unfragmented TCP segment in IPv4 without options in untagged Ethernet,
            # nothing cut by the snaplen. Anything else takes the general way below,
            # which reads (and judges) it as usual; where both read a frame they agree.
            etype, vihl, total, frag, proto, src, dst, sport, dport, seq, ack, offflags = (
                _ETHER_IPV4_TCP.unpack_from(data)
            )
            pstart = 34 + (offflags >> 12) * 4  # after a TCP header of at least 20 bytes
            end = 14 + total  # the IP length: Ethernet padding and FCS are not payload
            if (
                etype == ETH_IPV4
                and vihl == 0x45
                and proto == _PROTO_TCP
                and not frag & 0x3FFF
                and 54 <= pstart <= end <= len(data)
            ):
                seg = _segment(src, dst, sport, dport, seq, ack, offflags & 0xFF, data[pstart:end])
        if seg is None:
            link = self._links.get(frame.linktype)
            if link is None:
                stats.unsupported_linktype += 1
                return None
            try:
                seg = self._network(frame, link, data)
            except DecodeError:
                stats.decode_errors += 1
                raise
            if seg is None:
                stats.non_tcp += 1
                return None
        dedup = self.dedup
        if dedup is not None and dedup.seen(seg, frame.ts_ns):
            stats.duplicates += 1
            return None
        stats.tcp += 1
        if seg.missing:
            stats.truncated += 1
        return seg

    def _network(self, frame: Frame, link: Callable[[bytes], _LinkResult], data: bytes) -> Segment | None:
        """The general way: the link layer's reader, then the network layer it names."""
        et, off, data = link(data)
        return self._ethertype(frame, et, data, off)

    def _ethertype(self, frame: Frame, et: int, data: bytes, off: int) -> Segment | None:
        """The network layer an EtherType names (IPv4, IPv6, MPLS), at `off`."""
        if et == ETH_IPV4:
            return self._ipv4(frame, data, off)
        if et == ETH_IPV6:
            return self._ipv6(frame, data, off)
        if et in ETH_MPLS:
            return self._enter("mpls", frame, data, off, et)
        return None

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
            if proto not in _FRAG_PROTOS:
                return None  # only TCP and its tunnels are reassembled
            return self._ipv4_fragment(
                frame, data, off, ihl, cap_end, wire_end, ident, frag, proto
            )
        if proto != _PROTO_TCP:
            return self._ip_payload(
                frame,
                proto,
                data,
                off + ihl,
                cap_end,
                wire_end,
                data[off + 12 : off + 16],
                data[off + 16 : off + 20],
            )
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
        proto: int = _PROTO_TCP,
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
        key = (4, src, dst, proto, ident)
        done = self.fragments.add(
            key,
            (frag & 0x1FFF) * 8,
            bool(frag & 0x2000),
            data[off + ihl : cap_end],
            frame.ts_ns,
            proto,
        )
        self._sync_fragment_stats()
        if done is None:
            return None
        stats.reassembled += 1
        payload = done[1]
        if proto != _PROTO_TCP:
            return self._ip_payload(frame, proto, payload, 0, len(payload), len(payload), src, dst)
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
                # UDP and GRE (tunnels, the UDP hook); ICMPv6, ESP, no next header: None
                return self._ip_payload(frame, nh, data, pos, cap_end, wire_end, src, dst)
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

    # -- tunnels --------------------------------------------------------------------

    def _ip_payload(
        self,
        frame: Frame,
        proto: int,
        data: bytes,
        pos: int,
        cap_end: int,
        wire_end: int,
        src: bytes,
        dst: bytes,
    ) -> Segment | None:
        """An IP payload that is not TCP: UDP (a tunnel, else the UDP hook), GRE, IP in
        IP. Anything else carries no TCP for us."""
        if proto == _PROTO_UDP:
            return self._udp(frame, data, pos, cap_end, src, dst)
        if proto == _PROTO_GRE:
            return self._gre(frame, data[pos:cap_end])
        if proto == _PROTO_IPIP:
            return self._enter("ipip", frame, data[pos:cap_end], 0, ETH_IPV4)
        if proto == _PROTO_IPV6_IN_IP:
            return self._enter("ipip", frame, data[pos:cap_end], 0, ETH_IPV6)
        return None

    def _udp(
        self, frame: Frame, data: bytes, pos: int, cap_end: int, src: bytes, dst: bytes
    ) -> Segment | None:
        """VXLAN and GENEVE by destination port and a plausible inner packet; any other
        datagram goes to the UDP hook (payload as captured, up to the UDP length)."""
        if cap_end - pos < 8:
            return None  # UDP header cut by the snaplen: nothing to read
        sport, dport, length = _UDP_FIXED.unpack_from(data, pos)
        end = pos + length if 8 <= length and pos + length < cap_end else cap_end
        start = pos + 8
        if dport in self._vxlan_ports:
            if _vxlan_plausible(data, start, end):
                return self._enter("vxlan", frame, data[start + 8 : end], 0, ETH_TEB)
            self.stats.tunnels["vxlan_rejected"] += 1
        elif dport in self._geneve_ports:
            inner = _geneve_inner(data, start, end)
            if inner is not None:
                return self._enter("geneve", frame, data[inner[0] : end], 0, inner[1])
            self.stats.tunnels["geneve_rejected"] += 1
        self.stats.udp += 1
        hook = self.on_udp
        if hook is not None:
            hook(src, dst, sport, dport, data[start:end], frame.ts_ns)
        return None

    def _gre(self, frame: Frame, data: bytes) -> Segment | None:
        """GRE (RFC 2784, RFC 2890) and the ERSPAN types it carries; `data` starts at
        the GRE header and ends with the outer packet's captured bytes."""
        n = len(data)
        if n < 4:
            raise DecodeError(f"GRE header needs 4 bytes, {n} captured")
        flags, ptype = _GRE_FIXED.unpack_from(data, 0)
        if flags & 0x0007 or flags & _GRE_R:
            # Version 1 is PPTP's enhanced GRE (PPP inside); routing is RFC 1701's
            # obsolete source routing. Neither carries mirrored traffic.
            self.stats.tunnels["gre_unsupported"] += 1
            return None
        hlen = 4
        if flags & _GRE_C:
            hlen += 4  # checksum and reserved1
        if flags & _GRE_K:
            hlen += 4
        if flags & _GRE_S:
            hlen += 4
        if n < hlen:
            raise DecodeError(f"GRE header of {hlen} bytes cut short ({n} captured)")
        if ptype == ETH_ERSPAN_2:
            if not flags & _GRE_S:
                return self._enter("erspan1", frame, data, hlen, ETH_TEB)
            if n < hlen + 8:
                raise DecodeError(f"ERSPAN type II header at offset {hlen} cut short")
            return self._enter("erspan2", frame, data, hlen + 8, ETH_TEB)
        if ptype == ETH_ERSPAN_3:
            if n < hlen + 12:
                raise DecodeError(f"ERSPAN type III header at offset {hlen} cut short")
            frame_type = (data[hlen + 10] >> 2) & 0x1F
            inner = hlen + 12 + (8 if data[hlen + 11] & 0x01 else 0)  # O bit: sub-header
            if frame_type == 0:
                et = ETH_TEB
            elif frame_type == 2 and inner < n and data[inner] >> 4 in (4, 6):
                et = ETH_IPV4 if data[inner] >> 4 == 4 else ETH_IPV6
            else:
                self.stats.tunnels["erspan3_unsupported"] += 1
                return None
            return self._enter("erspan3", frame, data, inner, et)
        if ptype in _GRE_PAYLOADS:
            return self._enter("gre", frame, data, hlen, ptype)
        self.stats.tunnels["gre_unsupported"] += 1
        return None

    def _enter(self, kind: str, frame: Frame, data: bytes, off: int, et: int) -> Segment | None:
        """One tunnel level: count it, bound the nesting, decode what it carries."""
        if self._depth >= self._max_depth:
            raise DecodeError(f"tunnels nested deeper than {self._max_depth} levels")
        self.stats.tunnels[kind] += 1
        self._depth += 1
        try:
            if et in ETH_MPLS:
                return self._mpls(frame, data, off)
            return self._inner(frame, data, off, et)
        finally:
            self._depth -= 1

    def _inner(self, frame: Frame, data: bytes, off: int, et: int) -> Segment | None:
        """What a tunnel carries, by EtherType: Ethernet (TEB), tags, IP or MPLS."""
        if et == ETH_TEB:
            if len(data) - off < 14:
                raise DecodeError(
                    f"inner Ethernet header at offset {off} cut short ({len(data) - off} bytes)"
                )
            et = (data[off + 12] << 8) | data[off + 13]
            off += 14
        if et in _VLAN_TPIDS:
            et, off, data = _peel_vlans(data, et, off)
        return self._ethertype(frame, et, data, off)

    def _mpls(self, frame: Frame, data: bytes, off: int) -> Segment | None:
        """An MPLS label stack (RFC 3032 section 2.1) up to the bottom-of-stack bit; the
        payload is guessed from its first nibble (no label says what it carries)."""
        n = len(data)
        for _ in range(MAX_MPLS_LABELS):
            if n - off < 4:
                raise DecodeError(f"MPLS label at offset {off} cut short (frame has {n} bytes)")
            bottom = data[off + 2] & 0x01
            off += 4
            if bottom:
                break
        else:
            raise DecodeError(f"MPLS label stack deeper than {MAX_MPLS_LABELS} labels")
        if off >= n:
            return None
        nibble = data[off] >> 4
        if nibble == 4:
            return self._inner(frame, data, off, ETH_IPV4)
        if nibble == 6:
            return self._inner(frame, data, off, ETH_IPV6)
        if nibble == 0 and _ether_plausible(data, off + 4, n):
            return self._inner(frame, data, off + 4, ETH_TEB)  # RFC 4385 control word
        if _ether_plausible(data, off, n):
            return self._inner(frame, data, off, ETH_TEB)
        return None

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
        if missing and not self._depth:
            # Never claim more than the capture says was cut off (the IP length could be
            # wrong; NFLOG payloads have no wire length at all). Inside a tunnel the
            # inner IP length is the evidence: mirrors cut the inner packet and write
            # outer lengths that match the cut (see the module docstring).
            cut = frame.wire_len - len(frame.data) if frame.wire_len else missing
            missing = min(missing, cut) if cut > 0 else 0
        return _segment(src, dst, sport, dport, seq, ack, offflags & 0xFF, payload, missing)


# -- duplicates across sensors ----------------------------------------------------------

# How far apart in capture time two sensors may see one packet: sensors on one network
# agree within milliseconds (NTP/PTP); 100 ms covers that and stays below TCP's minimum
# retransmission timeout (200 ms on Linux), so a real retransmission is seldom taken for
# a duplicate (and if it is, reassembly would have dropped that copy anyway).
DEDUP_WINDOW_NS = 100_000_000
# Recent segments remembered: 100 ms at 1 Gbit/s of full-size packets is ~8,300 packets;
# 65,536 covers eight times that at a few MiB (an int hash and a timestamp each).
DEDUP_MAX_ENTRIES = 65_536


class DuplicateFilter:
    """Remembers recent TCP segments to drop a second copy seen by another sensor.

    The key is a hash of the decoded IP/TCP fields (addresses, ports, sequence and
    acknowledgment numbers, flags, payload): TTL, checksums, the link layer and any
    tunnel around the packet do not count, so a packet mirrored twice matches. Only the
    hash is kept, never the payload. Bounded by `DEDUP_MAX_ENTRIES` and the window."""

    def __init__(
        self, window_ns: int = DEDUP_WINDOW_NS, max_entries: int = DEDUP_MAX_ENTRIES
    ) -> None:
        self.window_ns = window_ns
        self.max_entries = max_entries
        self._last: dict[int, int] = {}  # key hash -> ts_ns of the copy kept
        self._order: deque[tuple[int, int]] = deque()  # (ts_ns, key) in arrival order

    def __len__(self) -> int:
        return len(self._last)

    def seen(self, seg: Segment, ts_ns: int) -> bool:
        """True when the same segment was kept within the window (drop this copy)."""
        key = hash(
            (seg.src, seg.dst, seg.sport, seg.dport, seg.seq, seg.ack, seg.flags, seg.payload)
        )
        last = self._last
        order = self._order
        horizon = ts_ns - self.window_ns
        while order and (order[0][0] < horizon or len(order) > self.max_entries):
            old_ts, old_key = order.popleft()
            if last.get(old_key) == old_ts:
                del last[old_key]
        prev = last.get(key)
        if prev is not None and abs(ts_ns - prev) <= self.window_ns:
            return True
        last[key] = ts_ns
        order.append((ts_ns, key))
        return False
