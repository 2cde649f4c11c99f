"""The frame decoder: link types, IPv4/IPv6, fragments, TCP, truncation, real captures."""

from __future__ import annotations

import ipaddress
import struct
from pathlib import Path

import pytest
from scapy.layers.dot11 import Dot11, Dot11QoS, RadioTap
from scapy.layers.l2 import LLC, SNAP
from scapy.packet import Raw

from dpi.capture import open_capture
from dpi.decode import ACK, PSH, SYN, DecodeError, Decoder, Segment
from dpi.frames import SUPPORTED_LINKTYPES, Frame
from dpi.ipfrag import FragmentReassembler
from tests.builders.frames import (
    ETH_IPV6,
    ethernet,
    ipv4_fragments,
    ipv4_packet,
    ipv6_ext,
    ipv6_fragment_header,
    ipv6_fragments,
    ipv6_packet,
    link_frame,
    linux_sll,
    nflog,
    null_loopback,
    tcp_frame,
    tcp_segment,
)

BODY = b"POST /login HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}"


def frame(data: bytes, linktype: int = 1, *, wire_len: int | None = None, ts_ns: int = 0) -> Frame:
    return Frame(1, ts_ns, linktype, data, len(data) if wire_len is None else wire_len)


def decode(data: bytes, linktype: int = 1, **kw: int) -> Segment | None:
    return Decoder().decode(frame(data, linktype, **kw))


def ip(text: str) -> bytes:
    return ipaddress.ip_address(text).packed


# -- link types ----------------------------------------------------------------------


# 802.11 link types (105, 127, 192) are built with scapy below (tests/builders has none).
@pytest.mark.parametrize("linktype", sorted(SUPPORTED_LINKTYPES - {228, 229, 105, 127, 192}))
@pytest.mark.parametrize("ipv6", [False, True])
def test_every_linktype_gives_the_tcp_segment(linktype: int, ipv6: bool) -> None:
    data = tcp_frame(BODY, linktype=linktype, ipv6=ipv6, sport=51000, dport=8080, seq=7, ack=9)
    seg = decode(data, linktype)
    assert seg is not None
    assert (seg.sport, seg.dport, seg.seq, seg.ack, seg.flags) == (51000, 8080, 7, 9, PSH | ACK)
    assert seg.payload == BODY and seg.missing == 0
    assert seg.src == (ip("fd00::1") if ipv6 else ip("10.0.0.1"))
    assert seg.dst == (ip("fd00::2") if ipv6 else ip("10.0.0.2"))


def test_the_decoder_reads_exactly_the_link_types_the_reader_calls_supported() -> None:
    """dpi/frames.py's list (the capture reader warns about the others) and the decoder's
    readers are one list: a frame of any other link type is counted as unsupported."""
    decoder = Decoder()
    unread = set()
    for linktype in range(300):
        before = decoder.stats.unsupported_linktype
        try:
            decoder.decode(frame(b"\x00" * 64, linktype))
        except DecodeError:
            pass
        if decoder.stats.unsupported_linktype > before:
            unread.add(linktype)
    assert set(range(300)) - unread == SUPPORTED_LINKTYPES


def test_raw_ipv4_linktype_228_decodes() -> None:
    seg = decode(ipv4_packet(tcp_segment(BODY)), 228)
    assert seg is not None and seg.payload == BODY


def test_raw_ipv6_linktype_229_decodes() -> None:
    seg = decode(ipv6_packet(tcp_segment(BODY)), 229)
    assert seg is not None and seg.payload == BODY


@pytest.mark.parametrize("family", [2, 24, 28, 30])
@pytest.mark.parametrize("big_endian", [False, True])
@pytest.mark.parametrize("linktype", [0, 108])
def test_loopback_family_in_either_byte_order_decodes(
    family: int, big_endian: bool, linktype: int
) -> None:
    seg_bytes = tcp_segment(BODY)
    packet = ipv4_packet(seg_bytes) if family == 2 else ipv6_packet(seg_bytes)
    seg = decode(null_loopback(packet, family, big_endian=big_endian), linktype)
    assert seg is not None and seg.payload == BODY


def test_loopback_unknown_family_is_not_tcp() -> None:
    assert decode(null_loopback(ipv4_packet(tcp_segment()), 17), 0) is None


@pytest.mark.parametrize(
    "vlans",
    [
        [(0x8100, 10)],
        [(0x88A8, 100), (0x8100, 10)],
        [(0x9100, 5), (0x8100, 6)],
        [(0x8100, 0), (0x8100, 0)],
        [(0x88A8, 1), (0x9100, 2), (0x8100, 3), (0x8100, 4)],
    ],
    ids=["dot1q", "dot1ad-qinq", "9100-qinq", "two-8100", "four-deep"],
)
def test_vlan_tags_at_any_depth_are_skipped(vlans: list[tuple[int, int]]) -> None:
    seg = decode(tcp_frame(BODY, vlans=vlans))
    assert seg is not None and seg.payload == BODY


def test_vlan_tagged_ipv6_decodes() -> None:
    seg = decode(tcp_frame(BODY, ipv6=True, vlans=[(0x8100, 3)]))
    assert seg is not None and seg.payload == BODY


def test_vlan_tag_cut_short_raises() -> None:
    data = ethernet(b"", vlans=[(0x8100, 3)])[:16]
    with pytest.raises(DecodeError, match="VLAN"):
        decode(data)


def test_sll_with_vlan_protocol_decodes() -> None:
    tagged = struct.pack("!HH", 7, 0x0800) + ipv4_packet(tcp_segment(BODY))
    seg = decode(linux_sll(tagged, 0x8100), 113)
    assert seg is not None and seg.payload == BODY


@pytest.mark.parametrize("big_endian", [False, True])
def test_nflog_tlvs_in_either_byte_order_find_the_payload(big_endian: bool) -> None:
    seg = decode(nflog(ipv4_packet(tcp_segment(BODY)), big_endian=big_endian), 239)
    assert seg is not None and seg.payload == BODY


def test_nflog_without_payload_tlv_is_not_tcp() -> None:
    assert decode(struct.pack("!BBH", 2, 0, 0) + struct.pack("<HH", 8, 10) + b"abcd", 239) is None


def test_nflog_zero_length_tlv_raises() -> None:
    with pytest.raises(DecodeError, match="NFLOG TLV"):
        decode(struct.pack("!BBH", 2, 0, 0) + struct.pack("<HH", 0, 9) + b"abcd", 239)


# -- 802.11: plain (105), radiotap (127), PPI (192) ------------------------------------

_STA, _AP = "02:00:00:00:00:01", "02:00:00:00:00:02"


def _dot11_frame(packet: bytes, **fields: object) -> bytes:
    """An 802.11 data frame (scapy) carrying `packet` behind LLC/SNAP."""
    qos = bool(fields.pop("qos", False))
    ethertype = int(fields.pop("ethertype", 0x0800))  # type: ignore[call-overload]
    header = Dot11(type=2, subtype=8 if qos else 0, addr1=_AP, addr2=_STA, addr3=_AP, **fields)
    if qos:
        header = header / Dot11QoS()
    return bytes(header / LLC() / SNAP(code=ethertype) / Raw(packet))


def _radiotap(dot11: bytes, **fields: object) -> bytes:
    return bytes(RadioTap(**fields) / Raw(dot11))


def _ppi(inner: bytes, dlt: int) -> bytes:
    return struct.pack("<BBHI", 0, 0, 8, dlt) + inner


def _tcp_packet(ipv6: bool = False) -> bytes:
    seg = tcp_segment(BODY, sport=51000, dport=8080, seq=7, ack=9)
    return ipv6_packet(seg) if ipv6 else ipv4_packet(seg)


def _assert_body(seg: Segment | None) -> None:
    assert seg is not None
    assert (seg.sport, seg.dport, seg.seq, seg.payload, seg.missing) == (51000, 8080, 7, BODY, 0)


@pytest.mark.parametrize("ipv6", [False, True])
@pytest.mark.parametrize(
    "fields",
    [
        {"FCfield": "to_DS"},
        {"FCfield": "from_DS", "qos": True},
        {"FCfield": "to_DS+from_DS", "addr4": _STA},  # four addresses (WDS/mesh)
        {"FCfield": "to_DS+order", "qos": True},  # QoS with HT Control (+HTC)
    ],
    ids=["data", "qos", "four-address", "qos-htc"],
)
def test_80211_data_frames_give_the_tcp_segment(fields: dict[str, object], ipv6: bool) -> None:
    fields = dict(fields, ethertype=0x86DD if ipv6 else 0x0800)
    if fields["FCfield"] == "to_DS+order":
        # scapy has no HT Control field: insert its 4 bytes after QoS Control (26 bytes).
        plain = _dot11_frame(_tcp_packet(ipv6), **dict(fields, FCfield="to_DS"))
        dot11 = bytearray(plain[:26] + b"\x00" * 4 + plain[26:])
        dot11[1] |= 0x80
        dot11 = bytes(dot11)
    else:
        dot11 = _dot11_frame(_tcp_packet(ipv6), **fields)
    _assert_body(decode(dot11, 105))
    _assert_body(decode(_radiotap(dot11), 127))
    _assert_body(decode(_ppi(dot11, 105), 192))


def test_radiotap_flags_tsft_data_pad_and_fcs_are_honoured() -> None:
    qos = _dot11_frame(_tcp_packet(), FCfield="from_DS", qos=True)  # 26-byte header
    padded = qos[:26] + b"\x00\x00" + qos[26:]
    tsft_pad = bytes(RadioTap(present="TSFT+Flags", mac_timestamp=7, Flags="pad")) + padded
    _assert_body(decode(tsft_pad, 127))
    fcs = _radiotap(_dot11_frame(_tcp_packet(), FCfield="to_DS") + b"\xde\xad\xbe\xef",
                    present="Flags", Flags="FCS")
    _assert_body(decode(fcs, 127))
    # Extended presence bitmaps: a second word (bit 31 of the first) before the fields;
    # the Flags byte after it says "data pad".
    extended = struct.pack("<BBHII", 0, 0, 16, 0x80000002, 0) + b"\x20\x00\x00\x00"
    _assert_body(decode(extended + padded, 127))


@pytest.mark.parametrize(
    ("dot11", "why"),
    [
        (_dot11_frame(b"x" * 60, FCfield="to_DS+protected"), "encrypted"),
        (bytes.fromhex("80000000") + b"\xff" * 6 + b"\x02" * 12 + b"\x00" * 30, "beacon"),
        (bytes.fromhex("48010000") + b"\x02" * 18 + b"\x00\x00", "null data"),
        (_dot11_frame(b"\x00" * 40, FCfield="to_DS", ethertype=0x0806), "arp"),
    ],
    ids=["protected", "management", "null-data", "not-ip"],
)
def test_80211_frames_without_readable_ip_are_not_tcp(dot11: bytes, why: str) -> None:
    decoder = Decoder()
    assert decoder.decode(frame(_radiotap(dot11), 127)) is None, why
    assert decoder.stats.non_tcp == 1 and decoder.stats.decode_errors == 0


def test_80211_amsdu_fragments_and_bad_fcs_are_decode_errors() -> None:
    qos = bytearray(_dot11_frame(_tcp_packet(), FCfield="to_DS", qos=True))
    qos[24] |= 0x80  # QoS Control: A-MSDU present
    with pytest.raises(DecodeError, match="A-MSDU"):
        decode(bytes(qos), 105)
    fragment = bytearray(_dot11_frame(_tcp_packet(), FCfield="to_DS"))
    fragment[1] |= 0x04  # more fragments
    with pytest.raises(DecodeError, match="fragment"):
        decode(bytes(fragment), 105)
    bad_fcs = _radiotap(_dot11_frame(_tcp_packet(), FCfield="to_DS"), present="Flags", Flags="badFCS")
    with pytest.raises(DecodeError, match="bad FCS"):
        decode(bad_fcs, 127)


@pytest.mark.parametrize(
    ("data", "linktype", "match"),
    [
        (b"\x00" * 7, 127, "radiotap header needs"),
        (struct.pack("<BBHI", 1, 0, 8, 0) + b"\x00" * 30, 127, "radiotap version"),
        (struct.pack("<BBHI", 0, 0, 4000, 0) + b"\x00" * 30, 127, "radiotap length"),
        (struct.pack("<BBHI", 0, 0, 12, 0x80000000) + b"\xff" * 8, 127, "presence words"),
        (struct.pack("<BBHI", 0, 0, 8, 0) + b"\x08\x01" + b"\x00" * 10, 127, "802.11 header"),
        (b"\x00" * 5, 192, "PPI header needs"),
        (struct.pack("<BBHI", 0, 0, 8, 192) + b"\x00" * 30, 192, "PPI carries link type 192"),
        (struct.pack("<BBHI", 0, 0, 8, 147) + b"\x00" * 30, 192, "link type 147"),
    ],
    ids=["rt-short", "rt-version", "rt-length", "rt-present", "dot11-short", "ppi-short",
         "ppi-loop", "ppi-unknown"],
)
def test_80211_damaged_headers_raise_without_bytes(data: bytes, linktype: int, match: str) -> None:
    with pytest.raises(DecodeError, match=match) as err:
        decode(data, linktype)
    assert "\\x" not in str(err.value)


def test_ppi_carrying_ethernet_uses_its_link_type() -> None:
    _assert_body(decode(_ppi(ethernet(_tcp_packet()), 1), 192))


def test_unsupported_linktype_is_counted_not_raised() -> None:
    decoder = Decoder()
    assert decoder.decode(frame(b"\x00" * 64, 147)) is None
    assert decoder.stats.unsupported_linktype == 1 and decoder.stats.frames == 1


@pytest.mark.parametrize(
    ("data", "linktype"),
    [
        (b"\x00" * 10, 1),
        (b"\x00\x00", 0),
        (b"", 101),
        (b"\x00" * 12, 113),
        (b"\x00" * 12, 276),
        (b"\x02", 239),
    ],
    ids=["ethernet", "null", "raw", "sll", "sll2", "nflog"],
)
def test_link_header_cut_short_raises(data: bytes, linktype: int) -> None:
    with pytest.raises(DecodeError):
        decode(data, linktype)


# -- not TCP -------------------------------------------------------------------------


def test_udp_icmp_arp_are_not_tcp() -> None:
    decoder = Decoder()
    assert decoder.decode(frame(ethernet(ipv4_packet(b"\x00" * 8, proto=17)))) is None
    assert decoder.decode(frame(ethernet(ipv4_packet(b"\x08\x00" + b"\x00" * 6, proto=1)))) is None
    assert decoder.decode(frame(ethernet(b"\x00\x01" * 14, ethertype=0x0806))) is None
    assert (
        decoder.decode(
            frame(ethernet(ipv6_packet(b"\x80" * 8, next_header=58), ethertype=ETH_IPV6))
        )
        is None
    )
    assert decoder.stats.non_tcp == 4 and decoder.stats.tcp == 0


def test_raw_ip_with_unknown_version_is_not_tcp() -> None:
    assert decode(b"\x50" + b"\x00" * 40, 101) is None


# -- IPv4 ----------------------------------------------------------------------------


def test_ipv4_options_are_skipped_by_ihl() -> None:
    packet = ipv4_packet(tcp_segment(BODY), options=b"\x94\x04\x00\x00" + b"\x01" * 8)
    seg = decode(ethernet(packet))
    assert seg is not None and seg.payload == BODY


def test_ethernet_padding_is_trimmed_by_total_length() -> None:
    seg = decode(ethernet(ipv4_packet(tcp_segment(b"")), padding=6))
    assert seg is not None and seg.payload == b"" and seg.missing == 0


def test_ipv4_total_length_zero_trusts_the_capture() -> None:
    seg = decode(ethernet(ipv4_packet(tcp_segment(BODY), total_length=0)))
    assert seg is not None and seg.payload == BODY


def test_ipv4_bad_version_raises() -> None:
    with pytest.raises(DecodeError, match="version 5"):
        decode(ethernet(ipv4_packet(tcp_segment(), version=5)))


def test_ipv4_header_length_below_20_raises() -> None:
    packet = bytearray(ipv4_packet(tcp_segment()))
    packet[0] = 0x44
    with pytest.raises(DecodeError, match="header length 16"):
        decode(ethernet(bytes(packet)))


def test_ipv4_total_length_below_header_raises() -> None:
    with pytest.raises(DecodeError, match="total length 12"):
        decode(ethernet(ipv4_packet(tcp_segment(), total_length=12)))


def test_ipv4_header_cut_short_raises() -> None:
    with pytest.raises(DecodeError, match="IPv4 header"):
        decode(ethernet(ipv4_packet(tcp_segment()))[:30])


# -- TCP and truncation --------------------------------------------------------------


def test_tcp_options_are_skipped_by_data_offset() -> None:
    seg = decode(tcp_frame(BODY, flags=SYN, options=b"\x02\x04\x05\xb4\x01\x03\x03\x07"))
    assert seg is not None and seg.payload == BODY and seg.flags == SYN


def test_snaplen_cut_payload_counts_missing_bytes() -> None:
    full = tcp_frame(BODY)
    cut = full[:64]
    seg = decode(cut, wire_len=len(full))
    assert seg is not None
    assert seg.payload == BODY[:10]
    assert seg.missing == len(BODY) - 10


def test_frame_cut_inside_tcp_options_still_gives_a_segment() -> None:
    full = tcp_frame(BODY, options=b"\x01\x01\x08\x0a" + b"\x00" * 8)  # 12 bytes options
    cut = full[: 14 + 20 + 24]  # fixed TCP header plus 4 option bytes
    decoder = Decoder()
    seg = decoder.decode(frame(cut, wire_len=len(full)))
    assert seg is not None and seg.payload == b"" and seg.missing == len(BODY)
    assert decoder.stats.truncated == 1


def test_tcp_header_shorter_than_20_bytes_raises() -> None:
    full = tcp_frame(BODY)
    with pytest.raises(DecodeError, match="TCP header .* needs 20 bytes, 19 captured"):
        decode(full[: 14 + 20 + 19], wire_len=len(full))


@pytest.mark.parametrize("data_offset", [0, 4, 15])
def test_tcp_bad_data_offset_raises(data_offset: int) -> None:
    with pytest.raises(DecodeError, match="data offset"):
        decode(tcp_frame(b"", data_offset=data_offset))


def test_missing_never_exceeds_what_the_capture_cut() -> None:
    # IP claims 1000 more bytes than the frame, but the frame was not truncated.
    packet = ipv4_packet(tcp_segment(BODY))
    liar = ipv4_packet(tcp_segment(BODY), total_length=len(packet) + 1000)
    seg = decode(ethernet(liar))
    assert seg is not None and seg.payload == BODY and seg.missing == 0


def test_unknown_wire_length_trusts_the_ip_length() -> None:
    full = tcp_frame(BODY)
    seg = Decoder().decode(Frame(1, 0, 1, full[:60], 0))
    assert seg is not None and seg.missing == len(BODY) - 6


def test_decode_error_messages_quote_no_bytes() -> None:
    secret = b"4111111111111111"
    bad = tcp_frame(secret, data_offset=2)
    with pytest.raises(DecodeError) as err:
        decode(bad)
    assert secret.decode() not in str(err.value)
    assert "\\x" not in str(err.value)


def test_segment_repr_hides_payload() -> None:
    seg = decode(tcp_frame(b"password=hunter2"))
    assert seg is not None and "hunter2" not in repr(seg)


# -- IPv6 ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "chain",
    [
        [ipv6_ext(0)],
        [ipv6_ext(0, 16), ipv6_ext(43, 24), ipv6_ext(60)],
        [ipv6_ext(51, 24)],
        [ipv6_ext(60), ipv6_ext(51, 12)],
    ],
    ids=["hop-by-hop", "hbh-routing-dest", "ah", "dest-ah"],
)
def test_ipv6_extension_headers_are_walked(chain: list[tuple[int, bytes]]) -> None:
    packet = ipv6_packet(tcp_segment(BODY), extensions=chain)
    seg = decode(ethernet(packet, ethertype=ETH_IPV6))
    assert seg is not None and seg.payload == BODY


@pytest.mark.parametrize("next_header", [50, 59, 17])
def test_ipv6_esp_no_next_udp_are_not_tcp(next_header: int) -> None:
    packet = ipv6_packet(b"\x00" * 32, next_header=next_header, extensions=[ipv6_ext(0)])
    assert decode(ethernet(packet, ethertype=ETH_IPV6)) is None


def test_ipv6_extension_header_overrunning_payload_raises() -> None:
    packet = ipv6_packet(b"", extensions=[ipv6_ext(0, 64)], payload_length=16)
    with pytest.raises(DecodeError, match="extension header 0"):
        decode(ethernet(packet, ethertype=ETH_IPV6))


def test_ipv6_atomic_fragment_decodes_directly() -> None:
    packet = ipv6_packet(tcp_segment(BODY), extensions=[ipv6_fragment_header(0, False, 5)])
    decoder = Decoder()
    seg = decoder.decode(frame(ethernet(packet, ethertype=ETH_IPV6)))
    assert seg is not None and seg.payload == BODY and decoder.stats.fragments == 0


def test_ipv6_snaplen_cut_counts_missing() -> None:
    full = tcp_frame(BODY, ipv6=True)
    seg = decode(full[:90], wire_len=len(full))
    assert seg is not None and seg.missing == len(full) - 90


def test_ipv6_bad_version_raises() -> None:
    packet = bytearray(ipv6_packet(tcp_segment()))
    packet[0] = 0x40
    with pytest.raises(DecodeError, match="version 4"):
        decode(ethernet(bytes(packet), ethertype=ETH_IPV6))


# -- fragments -----------------------------------------------------------------------

LONG = bytes(range(256)) * 12  # 3 KiB of TCP payload


def feed(
    decoder: Decoder, packets: list[bytes], *, ipv6: bool = False, step_ns: int = 1
) -> list[Segment]:
    out = []
    for i, packet in enumerate(packets):
        seg = decoder.decode(frame(link_frame(packet, ipv6=ipv6), ts_ns=i * step_ns))
        if seg is not None:
            out.append(seg)
    return out


def test_ipv4_fragments_in_order_reassemble() -> None:
    decoder = Decoder()
    segs = feed(decoder, ipv4_fragments(tcp_segment(LONG, seq=77), [1480, 1480, 0]))
    assert len(segs) == 1 and segs[0].payload == LONG and segs[0].seq == 77
    assert decoder.stats.fragments == 3 and decoder.stats.reassembled == 1
    assert decoder.stats.tcp == 1 and decoder.stats.non_tcp == 2


def test_ipv4_fragments_out_of_order_reassemble() -> None:
    frags = ipv4_fragments(tcp_segment(LONG), [1024, 1024, 0])
    segs = feed(Decoder(), [frags[2], frags[0], frags[1]])
    assert len(segs) == 1 and segs[0].payload == LONG


def test_ipv4_overlapping_fragments_first_copy_wins() -> None:
    datagram = tcp_segment(b"A" * 64)
    first = ipv4_packet(datagram[:48], more_fragments=True, ident=3)
    overlap = ipv4_packet(b"B" * 32, more_fragments=True, frag_offset=24, ident=3)
    last = ipv4_packet(datagram[48:], frag_offset=48, ident=3)
    segs = feed(Decoder(), [first, overlap, last])
    assert len(segs) == 1
    # bytes 24..47 came first from `first`; 48..55 were first sent by `overlap`
    assert segs[0].payload == b"A" * 28 + b"B" * 8 + b"A" * 28


def test_ipv4_fragments_after_timeout_do_not_reassemble() -> None:
    decoder = Decoder()
    frags = ipv4_fragments(tcp_segment(LONG), [1024, 0])
    segs = feed(decoder, frags, step_ns=decoder.fragments.timeout_ns + 1)
    assert segs == []
    assert decoder.stats.fragments_expired == 1


def test_ipv4_non_tcp_fragments_are_not_kept() -> None:
    decoder = Decoder()
    feed(decoder, ipv4_fragments(b"\x00" * 3000, [1480, 0], proto=17))
    assert len(decoder.fragments) == 0 and decoder.stats.non_tcp == 2


def test_ipv4_fragment_cut_by_snaplen_is_dropped() -> None:
    decoder = Decoder()
    frag = ethernet(ipv4_fragments(tcp_segment(LONG), [1480, 0])[0])
    assert decoder.decode(frame(frag[:200], wire_len=len(frag))) is None
    assert decoder.stats.fragments_dropped == 1


def test_ipv4_fragments_from_different_sources_stay_apart() -> None:
    a = ipv4_fragments(tcp_segment(b"a" * 100), [48, 0], src="10.0.0.1")
    b = ipv4_fragments(tcp_segment(b"b" * 100), [48, 0], src="10.0.0.9")
    segs = feed(Decoder(), [a[0], b[0], b[1], a[1]])
    assert [s.payload for s in segs] == [b"b" * 100, b"a" * 100]
    assert segs[0].src == ip("10.0.0.9")


def test_ipv6_fragments_reassemble_out_of_order() -> None:
    frags = ipv6_fragments(tcp_segment(LONG, sport=443), [1232, 1232, 0])
    decoder = Decoder()
    segs = feed(decoder, [frags[1], frags[2], frags[0]], ipv6=True)
    assert len(segs) == 1 and segs[0].payload == LONG and segs[0].sport == 443
    assert segs[0].src == ip("fd00::1")
    assert decoder.stats.reassembled == 1


def test_ipv6_fragment_next_header_comes_from_first_fragment() -> None:
    datagram = tcp_segment(BODY)
    first = ipv6_packet(datagram[:16], next_header=6, extensions=[ipv6_fragment_header(0, True, 4)])
    rest = ipv6_packet(
        datagram[16:], next_header=17, extensions=[ipv6_fragment_header(16, False, 4)]
    )
    segs = feed(Decoder(), [rest, first], ipv6=True)
    assert len(segs) == 1 and segs[0].payload == BODY


def test_ipv6_fragmented_udp_is_not_tcp() -> None:
    decoder = Decoder()
    segs = feed(decoder, ipv6_fragments(b"\x00" * 3000, [1232, 0], next_header=17), ipv6=True)
    # IPv6 fragments name no protocol until the offset-0 one: reassembled, then dropped
    assert segs == [] and decoder.stats.tcp == 0 and len(decoder.fragments) == 0


def test_decoder_can_share_a_configured_reassembler() -> None:
    decoder = Decoder(FragmentReassembler(timeout_ns=10))
    segs = feed(decoder, ipv4_fragments(tcp_segment(LONG), [1024, 0]), step_ns=11)
    assert segs == []


# -- stats ---------------------------------------------------------------------------


def test_stats_count_frames_tcp_and_errors() -> None:
    decoder = Decoder()
    decoder.decode(frame(tcp_frame(BODY)))
    decoder.decode(frame(ethernet(ipv4_packet(b"", proto=17))))
    with pytest.raises(DecodeError):
        decoder.decode(frame(b"\x00" * 5))
    stats = decoder.stats
    assert (stats.frames, stats.tcp, stats.non_tcp, stats.decode_errors) == (3, 1, 1, 1)


# -- real captures -------------------------------------------------------------------


def segments_of(path: Path) -> list[Segment]:
    decoder = Decoder()
    with open_capture(path) as reader:
        return [s for f in reader.frames() if (s := decoder.decode(f)) is not None]


@pytest.mark.parametrize(
    ("name", "expected_payload_segments"),
    [
        ("robustness/sll2-http.pcap", 1),
        ("robustness/nflog-http.pcap", 2),
        ("robustness/qinq-http.pcap", 5),
        ("robustness/null-loopback-http-bearer.pcap", 2),
        ("robustness/rawip-http-chunk-size-overflow.pcap", 1),
        ("robustness/pcapng-two-interfaces-asymmetric-http.pcapng", 10),
        ("robustness/http-1000-requests-one-dropped.pcap.gz", 2999),
        ("robustness/snaplen96-http.pcap", 3),
        ("robustness/truncated-tcp-header.pcap", 11),
    ],
)
def test_real_link_types_decode_to_segments(
    shared_captures: Path, name: str, expected_payload_segments: int
) -> None:
    segs = segments_of(shared_captures / name)
    assert sum(1 for s in segs if s.payload or s.missing) == expected_payload_segments


def test_bigendian_pcap_has_only_icmp(shared_captures: Path) -> None:
    decoder = Decoder()
    with open_capture(shared_captures / "robustness/bigendian-pcap-header.pcap") as reader:
        assert [decoder.decode(f) for f in reader.frames()] == [None, None]
    assert decoder.stats.non_tcp == 2


def test_snaplen96_request_is_cut_with_missing_bytes(shared_captures: Path) -> None:
    segs = segments_of(shared_captures / "robustness/snaplen96-http.pcap")
    # tshark: tcp.len 496, 1448, 283 with 96 bytes captured of each frame
    cut = [(len(s.payload), s.missing) for s in segs if s.missing]
    assert cut == [(30, 466), (30, 1418), (30, 253)]
    request, response = (s for s in segs if s.missing and s.payload[:4] in (b"GET ", b"HTTP"))
    assert request.payload.startswith(b"GET ") and response.payload.startswith(b"HTTP/1.1")


def test_truncated_tcp_header_frames_give_segments_with_missing(shared_captures: Path) -> None:
    segs = segments_of(shared_captures / "robustness/truncated-tcp-header.pcap")
    assert len(segs) == 24
    assert sum(1 for s in segs if s.missing) == 11
