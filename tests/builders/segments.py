"""Factories for TCP `Segment`s and whole conversations (RFC 9293 sequence numbering).

Plain dataclass construction, no scapy: a `Conversation` keeps each side's next sequence
number, so tests read as dialogue:

    conv = Conversation()
    conv.handshake()
    conv.send("client", b"GET / HTTP/1.1\\r\\n\\r\\n")
    conv.send("server", body, mss=1000)
    conv.close("client")
    conv.close("server")
    segments = conv.segments
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from dpi.decode import ACK, FIN, PSH, RST, SYN, Segment

SideName = Literal["client", "server"]

CLIENT_IP = bytes([10, 0, 0, 1])
SERVER_IP = bytes([10, 0, 0, 2])
CLIENT_IP6 = bytes(15) + b"\x01"  # ::1
SERVER_IP6 = bytes(15) + b"\x02"  # ::2
CLIENT_PORT = 51514  # ephemeral
SERVER_PORT = 8080
MASK = 0xFFFFFFFF


def segment(
    *,
    src: bytes = CLIENT_IP,
    dst: bytes = SERVER_IP,
    sport: int = CLIENT_PORT,
    dport: int = SERVER_PORT,
    seq: int = 0,
    ack: int = 0,
    flags: int = ACK,
    payload: bytes = b"",
    missing: int = 0,
) -> Segment:
    """One segment; defaults: client -> server, ACK only, no payload."""
    return Segment(src, dst, sport, dport, seq & MASK, ack & MASK, flags, payload, missing)


@dataclass(slots=True)
class Conversation:
    """A client and a server with their own sequence numbers; every method appends the
    segments it makes to `segments` and returns them.

    `track_acks=False` makes every segment after the handshake ACK only the peer's ISN + 1,
    as if nothing the peer sent had been received yet: the capture then holds no evidence
    of loss, which is what reordering tests need (a real ACK moved before the data it
    acknowledges means the capture lost that data)."""

    client_isn: int = 1000
    server_isn: int = 5_000_000
    client_ip: bytes = CLIENT_IP
    server_ip: bytes = SERVER_IP
    client_port: int = CLIENT_PORT
    server_port: int = SERVER_PORT
    mss: int = 1460
    track_acks: bool = True
    segments: list[Segment] = field(default_factory=list)
    client_next: int = 0
    server_next: int = 0

    def __post_init__(self) -> None:
        self.client_next = self.client_isn & MASK
        self.server_next = self.server_isn & MASK

    def _make(
        self, side: SideName, seq: int, flags: int, payload: bytes = b"", missing: int = 0
    ) -> Segment:
        if side == "client":
            ack = self.server_next if self.track_acks else self.server_isn + 1
            return segment(
                src=self.client_ip, dst=self.server_ip, sport=self.client_port,
                dport=self.server_port, seq=seq, ack=ack, flags=flags, payload=payload,
                missing=missing,
            )  # fmt: skip
        ack = self.client_next if self.track_acks else self.client_isn + 1
        return segment(
            src=self.server_ip, dst=self.client_ip, sport=self.server_port,
            dport=self.client_port, seq=seq, ack=ack, flags=flags, payload=payload,
            missing=missing,
        )  # fmt: skip

    def _next(self, side: SideName) -> int:
        return self.client_next if side == "client" else self.server_next

    def _bump(self, side: SideName, size: int) -> None:
        if side == "client":
            self.client_next = (self.client_next + size) & MASK
        else:
            self.server_next = (self.server_next + size) & MASK

    def _add(self, segs: list[Segment]) -> list[Segment]:
        self.segments.extend(segs)
        return segs

    def syn(self) -> list[Segment]:
        seg = self._make("client", self.client_isn, SYN)
        self.client_next = (self.client_isn + 1) & MASK
        return self._add([seg])

    def syn_ack(self) -> list[Segment]:
        # The SYN-ACK acknowledges the SYN even when the capture did not hold it.
        self.client_next = (self.client_isn + 1) & MASK
        seg = self._make("server", self.server_isn, SYN | ACK)
        self.server_next = (self.server_isn + 1) & MASK
        return self._add([seg])

    def handshake(self) -> list[Segment]:
        """SYN, SYN-ACK, ACK."""
        segs = self.syn() + self.syn_ack()
        return segs + self.ack("client")

    def ack(self, side: SideName) -> list[Segment]:
        """A pure ACK from `side`."""
        return self._add([self._make(side, self._next(side), ACK)])

    def send(self, side: SideName, data: bytes, *, mss: int | None = None) -> list[Segment]:
        """`data` from `side`, split into MSS-sized segments (PSH on the last)."""
        size = mss or self.mss
        segs = []
        for i in range(0, len(data), size):
            chunk = data[i : i + size]
            last = i + size >= len(data)
            segs.append(self._make(side, self._next(side), ACK | (PSH if last else 0), chunk))
            self._bump(side, len(chunk))
        return self._add(segs)

    def send_truncated(self, side: SideName, captured: bytes, missing: int) -> list[Segment]:
        """One segment cut by the snaplen: `captured` on file, `missing` more on the wire."""
        seg = self._make(side, self._next(side), ACK | PSH, captured, missing)
        self._bump(side, len(captured) + missing)
        return self._add([seg])

    def lose(self, side: SideName, size: int) -> None:
        """`size` bytes sent by `side` that the capture never saw (no segment made)."""
        self._bump(side, size)

    def close(self, side: SideName) -> list[Segment]:
        """FIN (with ACK) from `side`; the FIN occupies one sequence number."""
        seg = self._make(side, self._next(side), FIN | ACK)
        self._bump(side, 1)
        return self._add([seg])

    def reset(self, side: SideName) -> list[Segment]:
        return self._add([self._make(side, self._next(side), RST | ACK)])


def conversation(
    exchanges: list[tuple[SideName, bytes]],
    *,
    handshake: bool = True,
    close: bool = True,
    **kwargs: object,
) -> Conversation:
    """A whole connection: handshake, `exchanges` in order (each split by MSS), FIN from
    the client then the server. `kwargs` go to `Conversation`."""
    conv = Conversation(**kwargs)  # type: ignore[arg-type]
    if handshake:
        conv.handshake()
    for side, data in exchanges:
        conv.send(side, data)
    if close:
        conv.close("client")
        conv.close("server")
        conv.ack("client")
    return conv
