"""TCP reassembly: segments -> ordered byte streams per flow and direction, with gaps.

Spec: RFC 9293 (TCP). Sequence numbers are compared modulo 2**32 (section 3.4); SYN and
FIN each occupy one sequence number (3.4); a segment is trimmed to the next expected
sequence number and what lies before it is a retransmission (3.10.7.4). Overlapping
copies that differ are resolved "first copy wins" (what Zeek does, and Suricata's `first`
policy): the receiver has already accepted the first copy, so the second cannot change
what the application read.

What it does: one `Flow` per connection (both directions of a 4-tuple), roles from the
SYN / SYN-ACK or else guessed from the ports (`roles_from="port"`, `partial=True`; the
engine may correct them with `Flow.swap_roles` after probing), in-order data delivered at
once without a copy, out-of-order data held within named limits, holes turned into `Gap`
events when the capture shows they will never be filled, FIN / RST / idle / eviction /
end of input as `Closed` events, port reuse as a new `Flow`.

Not supported (on purpose, a passive observer does not need them):
- TCP options: no window scaling, so no receive-window checks (a segment far ahead is
  held like any other); no timestamps/PAWS; SACK blocks are not read.
- Checksums are not verified (captures are full of offloaded, "wrong" checksums).
- Urgent data is ordinary data (RFC 9293, 3.8.5 deprecates its use).
- Roles are not re-guessed after a late SYN; simultaneous open is followed but both
  sides' roles come from the first SYN.
- Timestamps that go backwards (merged interfaces) are tolerated, but idle expiry walks
  flows in order of the last packet *fed*, so it is approximate for such captures.
- A delivered byte is not kept: a later copy that differs from an already delivered one
  is counted as retransmitted, not as an overlap.

No payload byte appears in any exception, log or repr: `data` fields are `repr=False`.
"""

from __future__ import annotations

from bisect import bisect_right, insort
from collections import OrderedDict
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Final, TypeAlias

from dpi.closed_connections import ClosedConnections
from dpi.decode import ACK, FIN, RST, SYN, Segment
from protocols._slots import slot_factory, slot_init

__all__ = [
    "COMMON_SERVER_PORTS",
    "Closed",
    "Data",
    "Flow",
    "Gap",
    "Opened",
    "Reassembler",
    "ReassemblyLimits",
    "ReassemblyStats",
    "Side",
    "StreamEvent",
    "sender_is_client",
]

_MASK: Final = 0xFFFFFFFF
_HALF_SPACE: Final = 0x80000000  # RFC 9293 3.4: "a < b" means 0 < (b - a) mod 2**32 < 2**31
_WRAP: Final = 0x100000000
# Flags that leave the fast path: they open, close or re-open a connection.
_CONTROL: Final = SYN | FIN | RST

# Ports that name the server whatever their number: the protocols this tool dissects and
# the usual homes of HTTP APIs, databases and brokers (see `sender_is_client`).
COMMON_SERVER_PORTS: Final = frozenset(
    {
        21, 22, 23, 25, 53, 80, 110, 143, 443, 465, 587, 993, 995,
        1433, 1521, 2181, 2375, 2376, 3000, 3306, 4222, 5000, 5432, 5672, 6379, 6443,
        7000, 7070, 8000, 8008, 8065, 8080, 8081, 8443, 8888, 9000, 9001, 9042, 9092,
        9093, 9200, 9300, 11211, 15672, 27017, 50051,
    }
)  # fmt: skip
# Linux's default ip_local_port_range starts here (IANA's ephemeral range at 49152), so a
# port below it is more likely a listening one.
_EPHEMERAL_START: Final = 32768


class Side(StrEnum):
    """Who sent the bytes."""

    CLIENT = "client"
    SERVER = "server"


@dataclass(frozen=True, slots=True, kw_only=True)
class ReassemblyLimits:
    """Every bound on reassembly state, with its reason. Sizes in bytes, times in ns of
    capture time."""

    # A flow silent for 5 minutes of capture time is over (HTTP keep-alive, Kafka and MySQL
    # pools talk more often than that); keeping it costs memory for millions of flows. A
    # flow that resumes later comes back as a new, partial one.
    idle_timeout_ns: int = 300 * 1_000_000_000
    # ~1 KiB of state per flow: 200k flows stay in the low hundreds of MiB. Beyond it the
    # least recently active flow is evicted.
    max_flows: int = 200_000
    # Out-of-order bytes held for one flow: above a typical receive window (Linux autotunes
    # to a few MiB), so only real capture loss ever reaches it.
    max_ooo_bytes_per_flow: int = 2 * 1024 * 1024
    # Held segments per direction: bounds the sorted-list work when a hostile or broken
    # sender sends tiny segments out of order.
    max_ooo_segments_per_flow: int = 2048
    # All out-of-order bytes together (we have 24 GB and 2 cores; 64 MiB is noise).
    max_ooo_bytes_total: int = 64 * 1024 * 1024
    # Closed connections remembered (until the idle timeout) so that late retransmissions
    # and ACKs after FIN/RST do not open ghost flows (~120 bytes each).
    max_closed_remembered: int = 65_536
    # An ACK further ahead than this of what we have seen is not evidence of loss but an
    # unrelated number (another connection, a broken stack): ignored.
    max_ack_jump: int = 1 << 30
    # A direction of a connection whose handshake was seen, but not this direction's SYN,
    # starts at the peer's last ACK when that is at most this far behind the first segment
    # seen (the bytes between were sent: a hole, not the past).
    max_start_backfill: int = 1 << 20
    # A hole nobody fills or ACKs (one-sided capture) is given up after this much capture
    # time while later data waits behind it: retransmission timers fire within seconds,
    # and dissectors should not see data minutes late.
    max_hole_wait_ns: int = 10 * 1_000_000_000
    # Everything held for all flows together: out-of-order bytes, bytes held while a
    # flow's protocol is not yet known, and what dissectors buffer (partial messages and
    # bodies, batched rows). Enforced by the engine: beyond it the least recently active
    # flows that hold bytes are closed (`Reassembler.evict`), their partial messages
    # emitted as incomplete. 10,000 uploads stuck mid-body would otherwise take GBs.
    max_held_bytes_total: int = 256 * 1024 * 1024

    def __post_init__(self) -> None:
        for f in fields(self):
            if getattr(self, f.name) <= 0:
                raise ValueError(f"ReassemblyLimits.{f.name} must be positive")


@dataclass(slots=True)
class ReassemblyStats:
    """Counters for the scan report. Byte counts are payload bytes."""

    flows: int = 0
    partial_flows: int = 0  # started without a SYN seen
    retransmitted_bytes: int = 0  # bytes seen again (delivered, held, or after FIN)
    overlaps: int = 0  # segments that overlapped held data with different bytes
    out_of_order_segments: int = 0  # segments that arrived ahead of a hole
    gaps: int = 0
    gap_bytes: int = 0
    evicted_flows: int = 0  # max_flows reached
    expired_flows: int = 0  # idle timeout
    resets: int = 0
    port_reuses: int = 0  # a new SYN on a 4-tuple that was still open
    ooo_overflow: int = 0  # holes skipped because one flow held too much
    ooo_budget_evictions: int = 0  # holes skipped because all flows together held too much
    held_evictions: int = 0  # flows closed to stay within max_held_bytes_total (engine)
    hole_timeouts: int = 0  # holes skipped because they stayed open too long
    ignored_segments: int = 0  # pure ACK/FIN/RST of a connection never seen
    late_segments: int = 0  # segments of a connection already closed


# Read for every flow made: a module constant costs a tenth of an enum member read off its
# class (`EnumType.__getattr__`).
_CLIENT: Final = Side.CLIENT
_SERVER: Final = Side.SERVER


@dataclass(slots=True, eq=False)
class _Half:
    """State of one direction, tied to its sending endpoint (so `swap_roles` only has to
    relabel `side`). Offsets are unbounded stream positions, immune to wrap-around."""

    side: Side
    nxt: int | None = None  # next expected sequence number (mod 2**32); None: not started
    off: int = 0  # stream offset of `nxt`
    base: int = 0  # sequence number at offset 0 (ISN + 1 when the SYN was seen)
    ack: int | None = None  # the peer's latest ACK for this direction
    held: dict[int, bytes | int] | None = None  # offset -> bytes, or size of a lost range
    starts: list[int] | None = None  # sorted keys of `held`
    held_bytes: int = 0
    hole_since: int = 0  # capture time when the current first hole opened
    fin_off: int | None = None  # stream offset of the FIN
    closed: bool = False
    fast: bool = False  # started, open, nothing held, no FIN pending: the fast path applies
    pending: bool = False  # open with held data or a FIN beyond a hole


def _refresh(h: _Half) -> None:
    h.pending = not h.closed and (h.starts is not None or h.fin_off is not None)
    h.fast = h.nxt is not None and not h.closed and not h.pending


@dataclass(slots=True, eq=False)
class Flow:
    """One TCP connection. Mutable; identity is the object."""

    id: int  # 1, 2, 3 ... in order of first packet
    client: tuple[bytes, int]  # (packed ip, port)
    server: tuple[bytes, int]
    roles_from: str  # "syn" (SYN or SYN-ACK seen) or "port" (guessed); the engine may set others
    partial: bool  # the start of the connection was not seen
    first_ts_ns: int
    last_ts_ns: int
    # The half sent by the endpoint that was the client at creation, and its peer.
    _a: _Half = field(default_factory=lambda: _Half(_CLIENT), repr=False)
    _b: _Half = field(default_factory=lambda: _Half(_SERVER), repr=False)
    # The number of the capture frame that last reached it (the order of the flows that
    # idle expiry and the end of input close, the same in every shard of a split scan),
    # and how many messages it gave: both make the engine's scan-order keys.
    last_frame: int = 0
    messages: int = 0

    def held_bytes(self) -> int:
        """Out-of-order bytes held for this flow (both directions)."""
        return self._a.held_bytes + self._b.held_bytes

    def swap_roles(self) -> None:
        """The guess was wrong: the client is the server. Later events use the new sides;
        the per-direction state stays with its sending endpoint."""
        self.client, self.server = self.server, self.client
        self._a.side, self._b.side = self._b.side, self._a.side


@dataclass(frozen=True, slots=True)
class Opened:
    flow: Flow
    ts_ns: int


@slot_init
@dataclass(frozen=True, slots=True)
class Data:
    """In-order bytes; `ts_ns` is the time of the segment that completed them."""

    flow: Flow
    side: Side
    data: bytes = field(repr=False)
    ts_ns: int


# `Data(...)` at half the cost (protocols/_slots.py): one per delivered segment.
_data = slot_factory(Data)


@dataclass(frozen=True, slots=True)
class Gap:
    """`size` bytes of that direction were lost (0 if unknown)."""

    flow: Flow
    side: Side
    size: int
    ts_ns: int


@dataclass(frozen=True, slots=True)
class Closed:
    """`side` closed by its FIN; `side=None`: the whole flow is over, with `reason` one of
    "fin" (both FINs), "rst", "idle", "evicted" (max_flows, or max_held_bytes_total by
    the engine), "end" (end of input, or the 4-tuple reused by a new connection before
    this one was seen to end)."""

    flow: Flow
    side: Side | None
    ts_ns: int
    reason: str


StreamEvent: TypeAlias = Opened | Data | Gap | Closed
_Key: TypeAlias = tuple[bytes, bytes, int, int]  # (src ip, dst ip, src port, dst port)
_Entry: TypeAlias = tuple[Flow, _Half, _Half]  # flow, half sent by the key's src, its peer


def _server_rank(port: int) -> int:
    """How surely `port` is a server's: 0 (a common server port) to 3 (ephemeral)."""
    if port in COMMON_SERVER_PORTS:
        return 0
    if port < 1024:  # IANA well-known ports
        return 1
    if port < _EPHEMERAL_START:
        return 2
    return 3


def sender_is_client(sport: int, dport: int) -> bool:
    """The "port" rule, for flows without a SYN: the server is the endpoint whose port is
    a common server port, else well-known (< 1024), else below the ephemeral range; on a
    tie the lower port; on equal ports the receiver of the first segment seen."""
    rs, rd = _server_rank(sport), _server_rank(dport)
    if rs != rd:
        return rs > rd
    return sport >= dport


class Reassembler:
    """Feeds segments in capture order; returns events. No I/O, no clock: time is the
    capture time passed in."""

    __slots__ = ("_closed", "_held_total", "_holding", "_lru", "_next_id", "_table", "frame",
                 "limits", "stats")  # fmt: skip

    def __init__(self, limits: ReassemblyLimits | None = None) -> None:
        self.limits = limits if limits is not None else ReassemblyLimits()
        self.stats = ReassemblyStats()
        self._table: dict[_Key, _Entry] = {}
        # Flows by last activity (move_to_end on each packet): expiry and eviction look
        # at the front only, so they cost nothing when nothing is due.
        self._lru: OrderedDict[Flow, None] = OrderedDict()
        self._holding: dict[_Half, Flow] = {}  # halves with held data
        self._held_total = 0
        self._closed = ClosedConnections()
        self._next_id = 1
        # The number of the frame being fed (set by the engine): flows keep the last.
        self.frame = 0

    def __repr__(self) -> str:
        return f"Reassembler(flows={len(self._lru)}, held_bytes={self._held_total})"

    # -- feeding -----------------------------------------------------------------------

    def feed(self, seg: Segment, ts_ns: int) -> list[StreamEvent]:
        """One segment in capture order. The in-order case is the hot path: one dict
        lookup, a few comparisons, no copy."""
        entry = self._table.get((seg.src, seg.dst, seg.sport, seg.dport))
        flags = seg.flags
        if entry is None or flags & _CONTROL:
            return self._feed_control(seg, ts_ns, entry)
        flow, h, peer = entry
        self._lru.move_to_end(flow)
        flow.last_frame = self.frame
        if ts_ns > flow.last_ts_ns:  # noqa: PLR1730 - a compare is cheaper than max() here
            flow.last_ts_ns = ts_ns
        if flags & ACK:
            peer.ack = seg.ack
            if peer.pending:  # the ACK may show a hole in the peer's stream was lost
                out: list[StreamEvent] = []
                self._ack_gap(flow, peer, ts_ns, out)
                if seg.payload or seg.missing:
                    self._segment(flow, h, peer, seg, ts_ns, out)
                return out
        if h.fast and seg.seq == h.nxt and not seg.missing:
            payload = seg.payload
            if not payload:
                return []
            n = len(payload)
            h.nxt = (seg.seq + n) & _MASK
            h.off += n
            return [_data(flow, h.side, payload, ts_ns)]
        out = []
        if seg.payload or seg.missing:
            self._segment(flow, h, peer, seg, ts_ns, out)
        return out

    def _feed_control(self, seg: Segment, ts_ns: int, entry: _Entry | None) -> list[StreamEvent]:
        """New flows, SYN, FIN and RST."""
        out: list[StreamEvent] = []
        flags = seg.flags
        if entry is not None and flags & SYN:
            flow, h, _ = entry
            if h.nxt is not None and h.base != (seg.seq + 1) & _MASK:
                # A SYN with another ISN on a known 4-tuple: a new connection (port reuse).
                self.stats.port_reuses += 1
                self._end(flow, ts_ns, "end", out)
                entry = None
        if entry is None:
            key = (seg.src, seg.dst, seg.sport, seg.dport)
            if flags & RST or not (flags & SYN or seg.payload or seg.missing):
                # Nothing to deliver and no roles to learn: opening a flow for the last
                # ACK of a connection we never saw would make ghosts.
                self.stats.ignored_segments += 1
                return out
            late = self._closed.get(key)
            if (
                late is not None
                and ts_ns - late[0] <= self.limits.idle_timeout_ns
                and (not flags & SYN or late[1] == (seg.seq + 1) & _MASK)
            ):
                self.stats.late_segments += 1  # a straggler of the closed connection
                return out
            entry = self._open(seg, ts_ns, out, reused=late is not None)
        flow, h, peer = entry
        self._lru.move_to_end(flow)
        flow.last_frame = self.frame
        flow.last_ts_ns = max(flow.last_ts_ns, ts_ns)
        if flags & RST:
            self.stats.resets += 1
            self._end(flow, ts_ns, "rst", out)
            return out
        if flags & ACK:
            peer.ack = seg.ack
            if peer.pending:
                self._ack_gap(flow, peer, ts_ns, out)
        if flags & SYN:
            if h.nxt is None:
                self._start(h, (seg.seq + 1) & _MASK)  # the SYN occupies one number
            if flags & ACK and peer.nxt is None:
                self._start(peer, seg.ack)  # the SYN-ACK tells the client's ISN + 1
            if not seg.payload and not flags & FIN:
                return out  # a (possibly repeated) handshake segment, nothing more
        if flow in self._lru:  # the ACK may have completed a close
            self._segment(flow, h, peer, seg, ts_ns, out)
        return out

    def _open(self, seg: Segment, ts_ns: int, out: list[StreamEvent], *, reused: bool) -> _Entry:
        """A new flow. `reused`: its 4-tuple is among the closed connections remembered,
        which forget it (the only case where that lookup, which packs the key, is due)."""
        flags = seg.flags
        if flags & SYN:
            roles_from, partial = "syn", False
            client_sends = not flags & ACK
        else:
            roles_from, partial = "port", True
            client_sends = sender_is_client(seg.sport, seg.dport)
        while len(self._lru) >= self.limits.max_flows:
            oldest = next(iter(self._lru))
            self.stats.evicted_flows += 1
            self._end(oldest, ts_ns, "evicted", out)
        src, dst = (seg.src, seg.sport), (seg.dst, seg.dport)
        client, server = (src, dst) if client_sends else (dst, src)
        flow = Flow(self._next_id, client, server, roles_from, partial, ts_ns, ts_ns)
        self._next_id += 1
        h, peer = (flow._a, flow._b) if client_sends else (flow._b, flow._a)
        key = (seg.src, seg.dst, seg.sport, seg.dport)
        rkey = (seg.dst, seg.src, seg.dport, seg.sport)
        entry = (flow, h, peer)
        self._table[key] = entry
        self._table[rkey] = (flow, peer, h)
        if reused:
            self._closed.pop(key)
        self._lru[flow] = None
        self.stats.flows += 1
        if partial:
            self.stats.partial_flows += 1
        out.append(Opened(flow, ts_ns))
        return entry

    def _start(self, h: _Half, seq: int) -> None:
        h.nxt = h.base = seq
        h.off = 0
        _refresh(h)

    def _segment(
        self, flow: Flow, h: _Half, peer: _Half, seg: Segment, ts_ns: int, out: list[StreamEvent]
    ) -> None:
        """The general path: payload, snaplen loss and FIN of one segment."""
        payload = seg.payload
        n = len(payload)
        m = seg.missing
        if h.closed:
            self.stats.retransmitted_bytes += n  # after the FIN nothing new can come
            return
        flags = seg.flags
        seq = (seg.seq + 1) & _MASK if flags & SYN else seg.seq
        if h.nxt is None:
            self._start(h, seq if flow.partial else self._start_seq(h, seq))
        assert h.nxt is not None
        d = (seq - h.nxt) & _MASK
        if d >= _HALF_SPACE:
            d -= _WRAP  # behind: a retransmission, or a segment of the past
        off = h.off
        start = off + d
        end = start + n + m
        if flags & FIN and h.fin_off is None and end >= off:
            h.fin_off = end
        limit = end if h.fin_off is None else min(end, h.fin_off)  # nothing after a FIN
        if start < off:
            cut = min(off, limit) - start
            self.stats.retransmitted_bytes += min(cut, n)
            if cut > 0:
                if cut <= n:
                    payload = payload[cut:]
                    n -= cut
                else:
                    m -= cut - n
                    payload, n = b"", 0
                start = off
        if limit < start + n + m:  # bytes beyond the FIN: drop them
            over = start + n + m - max(limit, start)
            dropped_lost = min(over, m)
            m -= dropped_lost
            if over > dropped_lost:
                n -= over - dropped_lost
                payload = payload[:n]
        if n + m > 0:
            if start == off and h.held is None:
                if n:
                    h.nxt = (h.nxt + n) & _MASK
                    h.off += n
                    out.append(_data(flow, h.side, payload, ts_ns))
                if m:
                    self._gap(flow, h, m, ts_ns, out)
            else:
                if start > off:
                    self.stats.out_of_order_segments += 1
                if h.held is None:
                    h.hole_since = ts_ns
                self._insert(flow, h, start, payload)
                self._insert(flow, h, start + n, m)
        self._settle(flow, h, peer, ts_ns, out)

    def _start_seq(self, h: _Half, seq: int) -> int:
        """Where a direction of a non-partial flow starts when its SYN was not seen: the
        peer's last ACK (the handshake's third segment tells ISN + 1) when it is a little
        behind the first segment. Partial flows start at the first segment seen: their
        peer's ACKs are as old as the capture's start."""
        if h.ack is not None:
            behind = (seq - h.ack) & _MASK
            if 0 < behind <= self.limits.max_start_backfill:
                return h.ack
        return seq

    # -- held data -----------------------------------------------------------------------

    def _insert(self, flow: Flow, h: _Half, start: int, data: bytes | int) -> None:
        """Hold `data` (bytes, or the size of a lost range) at `start`, keeping what is
        already held where they overlap (first copy wins)."""
        length = data if isinstance(data, int) else len(data)
        if length <= 0:
            return
        end = start + length
        if h.held is None or h.starts is None:
            h.held, h.starts = {}, []
            self._holding[h] = flow
        held, starts = h.held, h.starts
        i = max(bisect_right(starts, start) - 1, 0)
        cursor = start
        pieces: list[tuple[int, int]] = []
        differs = False
        while i < len(starts):
            s = starts[i]
            if s >= end:
                break
            v = held[s]
            e = s + (v if isinstance(v, int) else len(v))
            if e > cursor:
                if s > cursor:
                    pieces.append((cursor, s))
                lo, hi = max(s, start), min(e, end)
                if isinstance(v, bytes) and isinstance(data, bytes):
                    self.stats.retransmitted_bytes += hi - lo
                    if not differs and v[lo - s : hi - s] != data[lo - start : hi - start]:
                        differs = True
                cursor = max(cursor, e)
            i += 1
        if cursor < end:
            pieces.append((cursor, end))
        if differs:
            self.stats.overlaps += 1
        for ps, pe in pieces:
            if isinstance(data, int):
                held[ps] = pe - ps
            else:
                held[ps] = data[ps - start : pe - start]  # the whole object when not cut
                h.held_bytes += pe - ps
                self._held_total += pe - ps
            insort(starts, ps)
        _refresh(h)

    def _drain(self, flow: Flow, h: _Half, ts_ns: int, out: list[StreamEvent]) -> None:
        """Deliver held data that now continues the stream; close the side at its FIN."""
        held, starts = h.held, h.starts
        if held is not None and starts is not None:
            before = h.off
            pieces: list[bytes] = []
            while starts and starts[0] <= h.off:  # held data always starts at or after off
                v = held.pop(starts.pop(0))
                if isinstance(v, int):
                    if pieces:
                        out.append(_data(flow, h.side, b"".join(pieces), ts_ns))
                        pieces = []
                    self._gap(flow, h, v, ts_ns, out)
                else:
                    pieces.append(v)
                    self._advance(h, len(v))
                    h.held_bytes -= len(v)
                    self._held_total -= len(v)
            if pieces:
                out.append(_data(flow, h.side, b"".join(pieces), ts_ns))
            if h.off != before:
                h.hole_since = ts_ns  # what is still held waits behind a new hole
            if not starts:
                self._unhold(h)
        if h.fin_off is not None and h.off >= h.fin_off and not h.closed:
            self._unhold(h)
            h.closed = True
            out.append(Closed(flow, h.side, ts_ns, "fin"))
            peer = flow._b if h is flow._a else flow._a
            if peer.closed:
                out.append(Closed(flow, None, ts_ns, "fin"))
                self._forget(flow, ts_ns, remember=True)
        _refresh(h)

    def _unhold(self, h: _Half) -> None:
        self._held_total -= h.held_bytes
        h.held_bytes = 0
        h.held = h.starts = None
        self._holding.pop(h, None)
        _refresh(h)

    def _advance(self, h: _Half, size: int) -> None:
        assert h.nxt is not None
        h.nxt = (h.nxt + size) & _MASK
        h.off += size

    def _gap(self, flow: Flow, h: _Half, size: int, ts_ns: int, out: list[StreamEvent]) -> None:
        self._advance(h, size)
        self.stats.gaps += 1
        self.stats.gap_bytes += size
        out.append(Gap(flow, h.side, size, ts_ns))

    def _skip_hole(self, flow: Flow, h: _Half, ts_ns: int, out: list[StreamEvent]) -> None:
        """Give up on the first hole: report it and deliver what follows."""
        assert h.starts
        self._gap(flow, h, h.starts[0] - h.off, ts_ns, out)
        self._drain(flow, h, ts_ns, out)

    def _settle(
        self, flow: Flow, h: _Half, peer: _Half, ts_ns: int, out: list[StreamEvent]
    ) -> None:
        """After `h` changed: deliver, enforce the limits, use the peer's ACK."""
        self._drain(flow, h, ts_ns, out)
        lim = self.limits
        while h.starts is not None and len(h.starts) > lim.max_ooo_segments_per_flow:
            self.stats.ooo_overflow += 1
            self._skip_hole(flow, h, ts_ns, out)
        while h.held_bytes + peer.held_bytes > lim.max_ooo_bytes_per_flow:
            self.stats.ooo_overflow += 1
            self._skip_hole(flow, h if h.held_bytes >= peer.held_bytes else peer, ts_ns, out)
        if h.pending:
            self._ack_gap(flow, h, ts_ns, out)
        if h.starts and ts_ns - h.hole_since > lim.max_hole_wait_ns:
            self.stats.hole_timeouts += 1
            while h.starts and ts_ns - h.hole_since > lim.max_hole_wait_ns:
                self._skip_hole(flow, h, ts_ns, out)
        while self._held_total > lim.max_ooo_bytes_total and self._holding:
            # Over the global budget: the half holding most gives up all its holes.
            big = max(self._holding, key=lambda half: half.held_bytes)
            big_flow = self._holding[big]
            self.stats.ooo_budget_evictions += 1
            while big.starts:
                self._skip_hole(big_flow, big, ts_ns, out)

    def _ack_gap(self, flow: Flow, h: _Half, ts_ns: int, out: list[StreamEvent]) -> None:
        """The peer ACKed bytes of `h` we never saw: they were received, so the capture
        lost them. Report the hole up to the ACK and deliver what follows."""
        while h.pending and h.nxt is not None and h.ack is not None:
            ahead = (h.ack - h.nxt) & _MASK
            if ahead == 0 or ahead >= _HALF_SPACE or ahead > self.limits.max_ack_jump:
                return
            boundary = h.starts[0] if h.starts else h.fin_off
            if boundary is None:
                return
            self._gap(flow, h, min(h.off + ahead, boundary) - h.off, ts_ns, out)
            self._drain(flow, h, ts_ns, out)

    # -- ending flows --------------------------------------------------------------------

    def _release(self, flow: Flow, h: _Half, ts_ns: int, out: list[StreamEvent]) -> None:
        """The flow ends: report holes, deliver all held data, and report bytes the peer
        ACKed that never came (the lost end of the stream)."""
        if h.closed or h.nxt is None:
            return
        while h.starts:
            self._skip_hole(flow, h, ts_ns, out)
        if h.closed or flow not in self._lru:
            return
        if h.fin_off is not None:
            if h.fin_off > h.off:
                self._gap(flow, h, h.fin_off - h.off, ts_ns, out)
            self._drain(flow, h, ts_ns, out)
        elif h.ack is not None:
            ahead = (h.ack - h.nxt) & _MASK
            if 0 < ahead < _HALF_SPACE and ahead <= self.limits.max_ack_jump:
                self._gap(flow, h, ahead, ts_ns, out)

    def _end(self, flow: Flow, ts_ns: int, reason: str, out: list[StreamEvent]) -> None:
        self._release(flow, flow._a, ts_ns, out)
        if flow in self._lru:
            self._release(flow, flow._b, ts_ns, out)
        if flow in self._lru:  # releasing may have reached both FINs
            out.append(Closed(flow, None, ts_ns, reason))
            # Only a connection that really ended leaves stragglers to drop; an idle or
            # evicted one may go on, and comes back as a new partial flow.
            self._forget(flow, ts_ns, remember=reason == "rst")

    def _forget(self, flow: Flow, ts_ns: int, *, remember: bool) -> None:
        (cip, cport), (sip, sport) = flow.client, flow.server
        key = (cip, sip, cport, sport)
        to_server = self._table.pop(key, None)
        to_client = self._table.pop((sip, cip, sport, cport), None)
        if remember and to_server is not None and to_client is not None:
            self._closed.add(key, ts_ns, to_server[1].base, to_client[1].base)
            self._closed.trim(self.limits.max_closed_remembered)
        for h in (flow._a, flow._b):
            if h.held is not None:
                self._unhold(h)
        del self._lru[flow]

    def expire(self, now_ns: int) -> list[StreamEvent]:
        """Close flows idle for `idle_timeout_ns` of capture time: gaps for held data, then
        Closed(reason="idle"). Cheap when nothing is due (looks at the oldest only)."""
        out: list[StreamEvent] = []
        deadline = now_ns - self.limits.idle_timeout_ns
        lru = self._lru
        while lru:
            flow = next(iter(lru))
            if flow.last_ts_ns > deadline:
                break
            self.stats.expired_flows += 1
            self._end(flow, now_ns, "idle", out)
        self._closed.expire(deadline)
        return out

    def evict(self, flow: Flow, ts_ns: int) -> list[StreamEvent]:
        """Close `flow` now because everything held reached `max_held_bytes_total` (the
        engine decides which flow): gaps for held data, then Closed(reason="evicted").
        Later segments of that connection come back as a new, partial flow."""
        out: list[StreamEvent] = []
        if flow in self._lru:
            self.stats.held_evictions += 1
            self._end(flow, ts_ns, "evicted", out)
        return out

    def flush(self, ts_ns: int) -> list[StreamEvent]:
        """End of input: deliver what can be, Gap for holes, Closed(None, "end") for every
        flow. The reassembler is empty afterwards."""
        out: list[StreamEvent] = []
        for flow in list(self._lru):
            if flow in self._lru:
                self._end(flow, ts_ns, "end", out)
        self._closed.clear()
        return out

    @property
    def active_flows(self) -> int:
        return len(self._lru)

    @property
    def held_bytes(self) -> int:
        return self._held_total
