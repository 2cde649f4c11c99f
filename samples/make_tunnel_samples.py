"""Generates the mirrored-traffic samples: `rest-shop.pcap` wrapped in each tunnel type.

    python samples/make_tunnel_samples.py [--out-dir DIR]

Every frame of `rest-shop.pcap` (real HTTP/1.1 conversations, see README.md) is wrapped
the way a traffic mirror delivers it to a collector, keeping its capture time:

| file | wrapping | as delivered by |
| --- | --- | --- |
| `tunnel-vxlan.pcap` | Ethernet / IPv4 / UDP 4789 / VXLAN (RFC 7348) / inner Ethernet | AWS VPC Traffic Mirroring |
| `tunnel-geneve.pcap` | Ethernet / IPv4 / UDP 6081 / GENEVE (RFC 8926) with a TLV option / inner Ethernet + 802.1Q | gateway load balancers, cloud packet mirroring |
| `tunnel-gre.pcap` | Ethernet / IPv4 / GRE with key and sequence number (RFC 2890) / inner IPv4 | GRE SPAN / IP tunnels |
| `tunnel-erspan2.pcap` | Ethernet / IPv4 / GRE (seq) / ERSPAN type II / inner Ethernet | Cisco/Arista ERSPAN |
| `tunnel-erspan3.pcap` | Ethernet / IPv4 / GRE (seq) / ERSPAN type III + platform sub-header / inner Ethernet + 802.1ad + 802.1Q | ERSPAN III |
| `tunnel-mpls.pcap` | Ethernet / MPLS (two labels, RFC 3032) / inner IPv4 | provider cores |

The outer addresses (`172.31.0.0/16`, the mirror source and the collector) are never a
server in the inventory: the expected inventory of each file is exactly
`rest-shop.expected.csv` (computed from ground truth by `make_samples.py`), copied as
`<name>.expected.csv`. Byte-identical on every run: the packets are written here with
`struct` (no randomness, no clock).
"""

from __future__ import annotations

import argparse
import shutil
import struct
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dpi.capture import open_capture  # the sample's own frames (after the sys.path line)

SOURCE = ROOT / "samples" / "rest-shop.pcap"
SOURCE_EXPECTED = ROOT / "samples" / "rest-shop.expected.csv"

MIRROR_MAC = bytes.fromhex("0a1b2c3d4e01")
COLLECTOR_MAC = bytes.fromhex("0a1b2c3d4e02")
MIRROR_IP = bytes([172, 31, 0, 10])
COLLECTOR_IP = bytes([172, 31, 0, 20])
VNI = 1_234_567


def _checksum(header: bytes) -> int:
    total = sum(struct.unpack(f"!{len(header) // 2}H", header))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _ipv4(proto: int, payload: bytes, ident: int) -> bytes:
    header = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident & 0xFFFF, 0x4000, 64, proto, 0,
        MIRROR_IP, COLLECTOR_IP,
    )
    header = header[:10] + struct.pack("!H", _checksum(header)) + header[12:]
    return header + payload


def _outer_ethernet(payload: bytes, ethertype: int = 0x0800) -> bytes:
    return COLLECTOR_MAC + MIRROR_MAC + struct.pack("!H", ethertype) + payload


def _udp(sport: int, dport: int, payload: bytes) -> bytes:
    # Checksum 0: allowed over IPv4 and what RFC 7348 section 5 asks of VTEPs.
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def _flow_port(inner: bytes) -> int:
    """A source port from a hash of the inner frame's addresses, as VTEPs choose it."""
    return 49152 + (sum(inner[26:34]) * 131 % 16384)


def _tag(frame: bytes, tags: list[tuple[int, int]]) -> bytes:
    """Insert 802.1ad/802.1Q tags (TPID, VLAN id) after the MAC addresses."""
    inserted = b"".join(struct.pack("!HH", tpid, vid) for tpid, vid in tags)
    return frame[:12] + inserted + frame[12:]


def vxlan(inner: bytes, n: int) -> bytes:
    header = struct.pack("!B3xI", 0x08, VNI << 8)
    return _outer_ethernet(_ipv4(17, _udp(_flow_port(inner), 4789, header + inner), n))


def geneve(inner: bytes, n: int) -> bytes:
    # One 8-byte option (class 0x0108 as AWS GWLB uses, type 1, 4 bytes of data).
    option = struct.pack("!HBBI", 0x0108, 1, 1, 0x00C0FFEE)
    header = struct.pack("!BBHI", len(option) // 4, 0, 0x6558, VNI << 8) + option
    tagged = _tag(inner, [(0x8100, 120)])
    return _outer_ethernet(_ipv4(17, _udp(_flow_port(inner), 6081, header + tagged), n))


def gre(inner: bytes, n: int) -> bytes:
    # K and S bits: key 0x2a, sequence number n; the inner IP packet without Ethernet.
    header = struct.pack("!HHII", 0x3000, 0x0800, 0x2A, n)
    return _outer_ethernet(_ipv4(47, header + inner[14:], n))


def erspan2(inner: bytes, n: int) -> bytes:
    gre_header = struct.pack("!HHI", 0x1000, 0x88BE, n)
    # Ver 1, VLAN 0, COS 0, En 0, T 0, session 7; index 3.
    span = struct.pack("!HHI", 0x1000, 7, 3)
    return _outer_ethernet(_ipv4(47, gre_header + span + inner, n))


def erspan3(inner: bytes, n: int) -> bytes:
    gre_header = struct.pack("!HHI", 0x1000, 0x22EB, n)
    # Ver 2, session 9, timestamp from the frame number; SGT 0, FT 0 (Ethernet), O set.
    span = struct.pack("!HHIHBB", 0x2000, 9, n * 1000, 0, 0x00, 0x01)
    platform = struct.pack("!II", 0x18000000, n)  # platform id 3 sub-header
    tagged = _tag(inner, [(0x88A8, 300), (0x8100, 120)])
    return _outer_ethernet(_ipv4(47, gre_header + span + platform + tagged, n))


def mpls(inner: bytes, n: int) -> bytes:
    labels = struct.pack("!II", (1001 << 12) | 64, (2002 << 12) | 0x100 | 64)
    return _outer_ethernet(labels + inner[14:], 0x8847)


WRAPPERS: dict[str, Callable[[bytes, int], bytes]] = {
    "vxlan": vxlan,
    "geneve": geneve,
    "gre": gre,
    "erspan2": erspan2,
    "erspan3": erspan3,
    "mpls": mpls,
}


def _pcap(records: list[tuple[int, bytes]]) -> bytes:
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1)]
    for ts_ns, data in records:
        sec, usec = divmod(ts_ns // 1000, 1_000_000)
        out.append(struct.pack("<IIII", sec, usec, len(data), len(data)) + data)
    return b"".join(out)


def source_frames() -> list[tuple[int, bytes]]:
    with open_capture(SOURCE) as reader:
        frames = [(f.ts_ns, f.data) for f in reader.frames()]
        assert {f for f in reader.linktypes} == {1}, "rest-shop.pcap must be Ethernet"
    return frames


def build(out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    frames = source_frames()
    written = []
    for name, wrap in WRAPPERS.items():
        records = [(ts, wrap(data, n)) for n, (ts, data) in enumerate(frames, 1)]
        path = out_dir / f"tunnel-{name}.pcap"
        path.write_bytes(_pcap(records))
        shutil.copyfile(SOURCE_EXPECTED, out_dir / f"tunnel-{name}.expected.csv")
        written.append(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=ROOT / "samples")
    args = parser.parse_args()
    for path in build(args.out_dir):
        print(f"wrote {path} ({path.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
