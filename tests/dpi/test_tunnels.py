"""Tunnel decapsulation: VXLAN, GENEVE, GRE, ERSPAN I-III, MPLS, IP in IP, tags inside,
nesting, truncated mirrors, the UDP hook, duplicates across sensors, and the mirrored
samples (checked against tshark)."""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dpi.decode import (
    MAX_MPLS_LABELS,
    MAX_TUNNEL_DEPTH,
    DecodeError,
    Decoder,
    DuplicateFilter,
    Segment,
)
from dpi.engine import Engine
from dpi.frames import Frame
from dpi.observer import Observer
from tests.builders.frames import (
    ETH_IPV6,
    ethernet,
    ipv4_fragments,
    ipv4_packet,
    ipv6_packet,
    tcp_segment,
)
from tests.builders.tunnels import (
    ETH_MPLS,
    ETH_TEB,
    erspan1,
    erspan2,
    erspan3,
    geneve,
    geneve_option,
    gre,
    mpls,
    outer_gre,
    outer_udp,
    udp,
    vxlan,
)

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
TUNNELS = ("vxlan", "geneve", "gre", "erspan2", "erspan3", "mpls")
BODY = b"POST /login HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}"
INNER_SRC, INNER_DST = "10.9.0.1", "10.9.0.2"


def inner_packet(payload: bytes = BODY) -> bytes:
    return ipv4_packet(tcp_segment(payload, dport=8080), src=INNER_SRC, dst=INNER_DST)


def inner_frame(payload: bytes = BODY, vlans: tuple[tuple[int, int], ...] = ()) -> bytes:
    return ethernet(inner_packet(payload), vlans=vlans)


def decode(data: bytes, decoder: Decoder | None = None, *, linktype: int = 1) -> Segment | None:
    return (decoder or Decoder()).decode(Frame(1, 0, linktype, data, len(data)))


def assert_inner(seg: Segment | None) -> None:
    assert seg is not None
    assert seg.src == bytes([10, 9, 0, 1]) and seg.dst == bytes([10, 9, 0, 2])
    assert seg.dport == 8080 and seg.payload == BODY and seg.missing == 0


# -- each tunnel type ------------------------------------------------------------------


def test_vxlan_on_4789_yields_the_inner_segment() -> None:
    decoder = Decoder()
    assert_inner(decode(outer_udp(vxlan(inner_frame()), 4789), decoder))
    assert decoder.stats.tunnels["vxlan"] == 1 and decoder.stats.tcp == 1


def test_vxlan_with_qinq_inside_yields_the_inner_segment() -> None:
    frame = inner_frame(vlans=((0x88A8, 300), (0x8100, 120)))
    assert_inner(decode(outer_udp(vxlan(frame), 4789)))


def test_vxlan_over_ipv6_outer_yields_the_inner_segment() -> None:
    outer = ethernet(ipv6_packet(udp(vxlan(inner_frame()), dport=4789), next_header=17), ethertype=ETH_IPV6)
    assert_inner(decode(outer))


def test_geneve_with_options_and_ethernet_yields_the_inner_segment() -> None:
    options = geneve_option() + geneve_option(kind=2, data=b"\x00" * 8)
    decoder = Decoder()
    assert_inner(decode(outer_udp(geneve(inner_frame(), options=options), 6081), decoder))
    assert decoder.stats.tunnels["geneve"] == 1


def test_geneve_with_inner_ip_yields_the_inner_segment() -> None:
    assert_inner(decode(outer_udp(geneve(inner_packet(), protocol=0x0800), 6081)))


def test_gre_with_checksum_key_and_sequence_yields_the_inner_segment() -> None:
    decoder = Decoder()
    assert_inner(decode(outer_gre(gre(inner_packet(), checksum=True, key=0x2A, seq=9)), decoder))
    assert decoder.stats.tunnels["gre"] == 1


def test_gre_transparent_ethernet_bridging_yields_the_inner_segment() -> None:
    assert_inner(decode(outer_gre(gre(inner_frame(vlans=((0x8100, 5),)), protocol=ETH_TEB, key=1))))


@pytest.mark.parametrize("kind", ["version1", "routing"])
def test_gre_pptp_and_routing_are_counted_unsupported(kind: str) -> None:
    decoder = Decoder()
    packet = gre(inner_packet(), version=1) if kind == "version1" else gre(inner_packet(), routing=True)
    assert decode(outer_gre(packet), decoder) is None
    assert decoder.stats.tunnels["gre_unsupported"] == 1 and decoder.stats.decode_errors == 0


def test_erspan_type_one_two_and_three_yield_the_inner_segment() -> None:
    decoder = Decoder()
    assert_inner(decode(outer_gre(erspan1(inner_frame())), decoder))
    assert_inner(decode(outer_gre(erspan2(inner_frame())), decoder))
    assert_inner(decode(outer_gre(erspan3(inner_frame(), platform=b"\x18" + b"\x00" * 7)), decoder))
    assert_inner(decode(outer_gre(erspan3(inner_packet(), frame_type=2)), decoder))
    tunnels = decoder.stats.tunnels
    assert (tunnels["erspan1"], tunnels["erspan2"], tunnels["erspan3"]) == (1, 1, 2)


def test_mpls_stack_guesses_ipv4_ipv6_and_ethernet_payloads() -> None:
    decoder = Decoder()
    assert_inner(decode(ethernet(mpls(inner_packet(), [16, 17, 18]), ethertype=ETH_MPLS), decoder))
    v6 = ipv6_packet(tcp_segment(BODY, dport=8080))
    seg = decode(ethernet(mpls(v6), ethertype=0x8848), decoder)
    assert seg is not None and len(seg.src) == 16
    # Ethernet pseudowire with the RFC 4385 control word, then without one.
    assert_inner(decode(ethernet(mpls(b"\x00\x00\x00\x00" + inner_frame()), ethertype=ETH_MPLS), decoder))
    frame = b"\x02" + inner_frame()[1:]  # a MAC whose first nibble is neither 4, 6 nor 0
    assert_inner(decode(ethernet(mpls(frame), ethertype=ETH_MPLS), decoder))
    assert decoder.stats.tunnels["mpls"] == 4


def test_mpls_stack_without_bottom_is_bounded() -> None:
    labels = list(range(16, 16 + MAX_MPLS_LABELS + 1))
    with pytest.raises(DecodeError, match="deeper than"):
        decode(ethernet(mpls(inner_packet(), labels, bottom=False) + b"\x00" * 8, ethertype=ETH_MPLS))


def test_ip_in_ip_yields_the_inner_segment() -> None:
    assert_inner(decode(ethernet(ipv4_packet(inner_packet(), proto=4, src="172.31.0.1"))))


def test_nested_tunnels_yield_the_innermost_segment() -> None:
    # MPLS core carrying GRE carrying ERSPAN II of a VXLAN overlay packet with QinQ inside.
    overlay = outer_udp(vxlan(inner_frame(vlans=((0x88A8, 1), (0x8100, 2)))), 4789)
    packet = ipv4_packet(erspan2(overlay), proto=47, src="192.0.2.1", dst="192.0.2.2")
    decoder = Decoder()
    assert_inner(decode(ethernet(mpls(packet, [300, 301]), ethertype=ETH_MPLS), decoder))
    tunnels = decoder.stats.tunnels
    assert (tunnels["mpls"], tunnels["erspan2"], tunnels["vxlan"]) == (1, 1, 1)


def test_nesting_deeper_than_the_bound_is_a_decode_error() -> None:
    packet = inner_packet()
    for _ in range(MAX_TUNNEL_DEPTH + 1):
        packet = ipv4_packet(packet, proto=4)
    decoder = Decoder()
    with pytest.raises(DecodeError, match="nested deeper"):
        decode(ethernet(packet), decoder)
    assert decoder.stats.decode_errors == 1
    assert_inner(decode(outer_gre(gre(inner_packet())), decoder))  # depth was reset


def test_gre_over_fragmented_ipv4_is_reassembled() -> None:
    payload = gre(inner_packet(BODY * 40), key=3)
    decoder = Decoder()
    segs = [decode(ethernet(p), decoder) for p in ipv4_fragments(payload, [1024, 0], proto=47)]
    assert segs[0] is None and segs[1] is not None and segs[1].payload == BODY * 40


# -- plausibility and the UDP hook ----------------------------------------------------


class _Collect:
    def __init__(self) -> None:
        self.calls: list[tuple[bytes, bytes, int, int, bytes, int]] = []

    def __call__(self, src: bytes, dst: bytes, sport: int, dport: int, payload: bytes, ts: int) -> None:
        self.calls.append((src, dst, sport, dport, payload, ts))


def test_udp_on_tunnel_port_without_plausible_inner_goes_to_the_hook() -> None:
    hook = _Collect()
    decoder = Decoder(on_udp=hook)
    assert decode(outer_udp(b"\x00" * 40, 4789), decoder) is None  # no I flag
    assert decode(outer_udp(vxlan(b"\xff" * 40), 4789), decoder) is None  # not Ethernet
    assert decode(outer_udp(geneve(inner_frame(), version=1), 6081), decoder) is None
    assert decoder.stats.tunnels["vxlan_rejected"] == 2
    assert decoder.stats.tunnels["geneve_rejected"] == 1
    assert len(hook.calls) == 3 and decoder.stats.udp == 3 and decoder.stats.decode_errors == 0


def test_udp_hook_gets_inner_datagrams_with_inner_addresses() -> None:
    hook = _Collect()
    decoder = Decoder(on_udp=hook)
    dns = ipv4_packet(udp(b"dns-answer", sport=53, dport=33333), src="10.9.0.53", dst=INNER_SRC, proto=17)
    decoder.decode(Frame(1, 77, 1, outer_udp(vxlan(ethernet(dns)), 4789), 0))
    assert hook.calls == [(bytes([10, 9, 0, 53]), bytes([10, 9, 0, 1]), 53, 33333, b"dns-answer", 77)]


def test_udp_hook_payload_stops_at_the_udp_length() -> None:
    hook = _Collect()
    decode(ethernet(ipv4_packet(udp(b"abc", dport=53), proto=17), padding=20), Decoder(on_udp=hook))
    assert hook.calls[0][4] == b"abc"


class _Datagrams(Observer):
    def __init__(self) -> None:
        self.seen: list[int] = []

    def datagram(self, src: bytes, dst: bytes, sport: int, dport: int, payload: bytes, ts_ns: int) -> None:
        self.seen.append(dport)


def test_engine_forwards_udp_to_observers_only_when_there_are_some() -> None:
    observer = _Datagrams()
    engine = Engine(observers=[observer])
    frame = ethernet(ipv4_packet(udp(b"x", dport=53), proto=17))
    engine.feed_frame(Frame(1, 0, 1, frame, len(frame)))
    assert observer.seen == [53]
    assert Engine().decoder.on_udp is None


# -- truncated mirrors -----------------------------------------------------------------


def test_truncated_mirror_packet_counts_missing_bytes_not_an_error() -> None:
    # The mirror cut the inner packet at 120 bytes and wrote outer lengths to match.
    whole = inner_frame(b"x" * 1000)
    cut = whole[:120]
    decoder = Decoder()
    seg = decode(outer_udp(vxlan(cut), 4789), decoder)
    assert seg is not None and decoder.stats.decode_errors == 0
    assert len(seg.payload) == 120 - 14 - 20 - 20 and seg.missing == 1000 - len(seg.payload)
    assert decoder.stats.truncated == 1


def test_truncated_mirror_traffic_becomes_gaps_in_the_engine() -> None:
    engine = Engine()
    seq = 1000
    for i in range(3):
        body = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n" if i == 0 else b"y" * 900
        frame = ethernet(ipv4_packet(tcp_segment(body, seq=seq, dport=8080), src=INNER_SRC, dst=INNER_DST))
        keep = frame if i == 0 else frame[:100]
        wire = outer_udp(vxlan(keep), 4789)
        engine.feed_frame(Frame(i + 1, i * 1000, 1, wire, len(wire)))
        seq += len(body)
    engine.finish()
    assert engine.stats.decode_errors == 0 and engine.stats.gaps >= 1
    assert engine.stats.gap_bytes == 2 * (900 - (100 - 54))


# -- duplicates -----------------------------------------------------------------------


def _seg(seq: int, payload: bytes = b"p") -> Segment:
    return Segment(b"\x0a\x00\x00\x01", b"\x0a\x00\x00\x02", 1, 2, seq, 0, 0x18, payload)


def test_duplicate_filter_drops_a_copy_within_the_window_only() -> None:
    dedup = DuplicateFilter(window_ns=1000)
    assert not dedup.seen(_seg(1), 0)
    assert dedup.seen(_seg(1), 500)  # the other sensor's copy
    assert not dedup.seen(_seg(2), 600)
    assert not dedup.seen(_seg(1), 5000)  # long after: a real retransmission
    assert not dedup.seen(_seg(1, b"q"), 5001)  # other payload


def test_duplicate_filter_is_bounded() -> None:
    dedup = DuplicateFilter(window_ns=10**18, max_entries=100)
    for i in range(1000):
        dedup.seen(_seg(i), i)
    assert len(dedup) <= 101


def test_decoder_drops_duplicates_whatever_the_wrapping() -> None:
    decoder = Decoder()
    decoder.dedup = DuplicateFilter()
    assert decode(ethernet(inner_packet()), decoder) is not None
    assert decode(outer_udp(vxlan(inner_frame()), 4789), decoder) is None
    assert decoder.stats.duplicates == 1 and decoder.stats.tcp == 1


# -- the samples -------------------------------------------------------------------------


def test_tunnel_samples_regenerate_byte_identical(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(SAMPLES / "make_tunnel_samples.py"), "--out-dir", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    for name in TUNNELS:
        for suffix in (".pcap", ".expected.csv"):
            file = f"tunnel-{name}{suffix}"
            assert (tmp_path / file).read_bytes() == (SAMPLES / file).read_bytes(), file


@pytest.mark.parametrize("name", TUNNELS)
def test_tunnel_sample_inventory_never_names_an_outer_address(name: str) -> None:
    from dpi.api import scan_engine

    engine = scan_engine(SAMPLES / f"tunnel-{name}.pcap", strict=True)
    servers = {row.server for row in engine.inventory.rows()}
    assert servers == {"10.0.0.5:8080", "10.0.1.20:9000", "10.0.2.30:80"}
    assert engine.decoder.stats.tunnels[name] == engine.stats.frames
    assert engine.stats.decode_errors == 0


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")
@pytest.mark.parametrize("name", TUNNELS)
def test_tshark_decodes_the_inner_http_of_each_tunnel_sample(name: str) -> None:
    out = subprocess.run(
        ["tshark", "-r", str(SAMPLES / f"tunnel-{name}.pcap"), "-d", "tcp.port==9000,http",
         "-Y", "http.request", "-T", "fields", "-e", "ip.dst"],
        check=True, capture_output=True, text=True,
    ).stdout.split()
    # 15 requests (samples/README.md); ip.dst lists outer and inner: the inner is last.
    assert len(out) == 15
    assert {line.split(",")[-1] for line in out} == {"10.0.0.5", "10.0.1.20", "10.0.2.30"}


def test_tunnel_expected_csvs_equal_the_plain_sample() -> None:
    plain = list(csv.reader((SAMPLES / "rest-shop.expected.csv").open()))
    for name in TUNNELS:
        assert list(csv.reader((SAMPLES / f"tunnel-{name}.expected.csv").open())) == plain
