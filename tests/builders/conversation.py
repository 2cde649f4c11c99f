"""Whole TCP conversations written as pcap files with scapy, for end-to-end engine tests.

`Conversation` keeps the sequence numbers of both sides, so a test says what each side
sends (as bytes), optionally out of order or with a lost segment, and gets a capture.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from scapy.layers.inet import IP, TCP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.packet import Packet
from scapy.utils import wrpcap

T0 = 1_768_467_600.0  # 2026-01-15T09:00:00Z
MSS = 1448


@dataclass
class Conversation:
    client: str = "10.0.0.1"
    server: str = "10.0.0.5"
    cport: int = 40000
    sport: int = 8080
    ts: float = T0
    packets: list[Packet] = field(default_factory=list)
    cseq: int = 1000
    sseq: int = 5000

    def _ip(self, from_client: bool) -> Packet:
        src, dst = (self.client, self.server) if from_client else (self.server, self.client)
        layer = IPv6 if ":" in src else IP
        return Ether() / layer(src=src, dst=dst)

    def _tcp(self, from_client: bool, flags: str, payload: bytes = b"", seq: int | None = None) -> Packet:
        if from_client:
            tcp = TCP(sport=self.cport, dport=self.sport, flags=flags,
                      seq=self.cseq if seq is None else seq, ack=self.sseq)
        else:
            tcp = TCP(sport=self.sport, dport=self.cport, flags=flags,
                      seq=self.sseq if seq is None else seq, ack=self.cseq)
        pkt = self._ip(from_client) / tcp
        if payload:
            pkt = pkt / payload
        self.ts += 0.001
        pkt.time = self.ts
        return pkt

    def handshake(self) -> Conversation:
        self.packets.append(self._tcp(True, "S"))
        self.cseq += 1
        self.packets.append(self._tcp(False, "SA"))
        self.sseq += 1
        self.packets.append(self._tcp(True, "A"))
        return self

    def segments(self, from_client: bool, data: bytes, mss: int = MSS) -> list[Packet]:
        """Packets carrying `data` in MSS chunks, advancing that side's sequence."""
        out = []
        for i in range(0, len(data), mss):
            chunk = data[i : i + mss]
            out.append(self._tcp(from_client, "PA", chunk))
            if from_client:
                self.cseq += len(chunk)
            else:
                self.sseq += len(chunk)
        return out

    def send(self, from_client: bool, data: bytes, *, reorder: bool = False,
             drop: int | None = None, duplicate: int | None = None) -> Conversation:
        pkts = self.segments(from_client, data)
        if duplicate is not None:
            pkts.insert(duplicate + 1, pkts[duplicate].copy())
        if drop is not None:
            del pkts[drop]
        if reorder and len(pkts) > 2:
            pkts[0], pkts[1] = pkts[1], pkts[0]
        self.packets.extend(pkts)
        return self

    def request(self, data: bytes, **kw: object) -> Conversation:
        return self.send(True, data, **kw)  # type: ignore[arg-type]

    def response(self, data: bytes, **kw: object) -> Conversation:
        return self.send(False, data, **kw)  # type: ignore[arg-type]

    def close(self) -> Conversation:
        self.packets.append(self._tcp(True, "FA"))
        self.cseq += 1
        self.packets.append(self._tcp(False, "FA"))
        self.sseq += 1
        self.packets.append(self._tcp(True, "A"))
        return self

    def write(self, path: Path) -> Path:
        wrpcap(str(path), self.packets)
        return path


def http_request(method: str, target: str, body: bytes = b"", host: str = "api.shop.example",
                 content_type: str = "application/json", headers: dict[str, str] | None = None) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}"]
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Type: {content_type}")
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def http_response(body: bytes = b"", status: str = "200 OK", content_type: str = "application/json",
                  headers: dict[str, str] | None = None) -> bytes:
    lines = [f"HTTP/1.1 {status}", f"Content-Type: {content_type}", f"Content-Length: {len(body)}"]
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body
