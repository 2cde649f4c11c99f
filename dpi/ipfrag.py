"""IP fragment reassembly for IPv4 (RFC 791, section 3.2) and IPv6 (RFC 8200, section 4.5).

The decoder hands over each fragment's payload with its byte offset and more-fragments
flag; when every byte from 0 to the end of the last fragment has been seen, the whole
payload comes back and is decoded as if it had arrived unfragmented.

Overlapping fragments: the first copy of a byte wins (later copies are ignored), the
same policy as TCP reassembly here. RFC 5722 and RFC 8200 ask a host to drop IPv6
datagrams with overlaps; a passive observer cannot know what the receiving host did, so
it keeps what was sent first, which is what most stacks deliver.

Bounded: datagrams pending, bytes held, fragments per datagram and a timeout in capture
time (never wall time); each limit is named below with its reason. Not supported: tiny
fragment attack detection, per-host policies (Linux vs BSD overlap handling).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass, field

# The largest IP payload: IPv4's 16-bit total length, IPv6's payload length without a
# jumbogram (jumbograms cannot be fragmented, RFC 2675 section 3).
MAX_DATAGRAM = 65535
# Datagrams waiting for fragments at once: real traffic has a handful in flight; a
# fragment flood must not grow memory without bound. The oldest is dropped first.
MAX_PENDING = 1024
# Bytes held across all pending datagrams (16 MiB): well under our memory budget even
# when every pending datagram is at its maximum size.
MAX_PENDING_BYTES = 16 * 1024 * 1024
# Fragments kept per datagram: 64 KiB over the IPv6 minimum MTU (1280) is ~52 fragments;
# 1024 leaves room for small MTUs while keeping the per-insert scan short.
MAX_FRAGMENTS = 1024
# How long a datagram may wait for its missing fragments, in capture time: Linux's
# ipfrag_time default (30 s); RFC 791 suggests 15 s and RFC 8200 60 s.
TIMEOUT_NS = 30 * 1_000_000_000


@dataclass(slots=True)
class _Pending:
    first_ts: int
    # Non-overlapping (start, data) pieces sorted by start.
    pieces: list[tuple[int, bytes]] = field(default_factory=list)
    total: int = -1  # payload length, known once the last fragment (MF=0) arrives
    held: int = 0  # bytes in `pieces`
    proto: int = -1  # upper-layer protocol; for IPv6, from the offset-0 fragment


@dataclass(slots=True, kw_only=True)
class FragmentStats:
    """Counters of the reassembler (mutable; read by the decoder)."""

    fragments: int = 0
    reassembled: int = 0
    expired: int = 0  # timed out waiting for fragments
    evicted: int = 0  # dropped to stay under MAX_PENDING / MAX_PENDING_BYTES
    dropped: int = 0  # datagrams or fragments refused (too large, too many pieces)
    overlaps: int = 0  # fragments that overlapped data already held


class FragmentReassembler:
    """Pending datagrams keyed by the caller (RFC 791: src, dst, protocol, id;
    RFC 8200: src, dst, id)."""

    def __init__(
        self,
        *,
        max_pending: int = MAX_PENDING,
        max_bytes: int = MAX_PENDING_BYTES,
        max_fragments: int = MAX_FRAGMENTS,
        timeout_ns: int = TIMEOUT_NS,
    ) -> None:
        self.max_pending = max_pending
        self.max_bytes = max_bytes
        self.max_fragments = max_fragments
        self.timeout_ns = timeout_ns
        self.stats = FragmentStats()
        self._pending: OrderedDict[Hashable, _Pending] = OrderedDict()
        self._held = 0

    def __len__(self) -> int:
        return len(self._pending)

    @property
    def held_bytes(self) -> int:
        return self._held

    def add(
        self, key: Hashable, offset: int, more: bool, data: bytes, ts_ns: int, proto: int
    ) -> tuple[int, bytes] | None:
        """Add one fragment; return (protocol, payload) once the datagram is complete.

        `proto` is the upper-layer protocol, or -1 when this fragment does not say it:
        IPv4 names it in every fragment, IPv6 only in the offset-0 fragment (RFC 8200
        section 4.5: the next header of the other fragments is ignored).
        """
        st = self.stats
        st.fragments += 1
        self._expire(ts_ns)
        end = offset + len(data)
        if end > MAX_DATAGRAM:
            st.dropped += 1
            self._drop(key)
            return None
        entry = self._pending.get(key)
        if entry is None:
            entry = _Pending(first_ts=ts_ns)
            self._pending[key] = entry
            self._make_room()
        if entry.proto < 0 and proto >= 0:
            entry.proto = proto
        if not more and entry.total < 0:
            # Only the first "last fragment" fixes the length; a later, different one is
            # an overlap and loses, like any other byte sent second.
            entry.total = end
            self._trim(entry)
        if entry.total >= 0 and offset >= entry.total:
            st.overlaps += 1  # beyond the end the first last-fragment set
            return None
        if entry.total >= 0:
            end = min(end, entry.total)
            data = data[: end - offset]
        added = self._insert(entry, offset, data)
        if added < 0:
            st.dropped += 1
            self._drop(key)
            return None
        if added < end - offset:
            st.overlaps += 1
        self._held += added
        while self._held > self.max_bytes and self._pending:
            self._evict_oldest()
        if key not in self._pending:
            return None
        if entry.total >= 0 and entry.held == entry.total and entry.proto >= 0:
            del self._pending[key]
            self._held -= entry.held
            st.reassembled += 1
            return entry.proto, b"".join(piece for _, piece in entry.pieces)
        return None

    # -- helpers --------------------------------------------------------------------

    def _insert(self, entry: _Pending, start: int, data: bytes) -> int:
        """Insert the parts of [start, start+len) not held yet; return bytes added, or
        -1 when the datagram has too many pieces."""
        end = start + len(data)
        pieces = entry.pieces
        new: list[tuple[int, bytes]] = []
        cur = start
        for p_start, p_data in pieces:
            p_end = p_start + len(p_data)
            if p_end <= cur:
                continue
            if p_start >= end:
                break
            if p_start > cur:
                new.append((cur, data[cur - start : p_start - start]))
            cur = max(cur, p_end)
            if cur >= end:
                break
        if cur < end:
            new.append((cur, data[cur - start :]))
        if not new:
            return 0
        if len(pieces) + len(new) > self.max_fragments:
            return -1
        pieces.extend(new)
        pieces.sort(key=_start)
        added = sum(len(d) for _, d in new)
        entry.held += added
        return added

    def _trim(self, entry: _Pending) -> None:
        """The last fragment fixed the length: drop whatever lies beyond it."""
        kept: list[tuple[int, bytes]] = []
        held = 0
        for p_start, p_data in entry.pieces:
            if p_start >= entry.total:
                continue
            p_data = p_data[: entry.total - p_start]
            kept.append((p_start, p_data))
            held += len(p_data)
        self._held -= entry.held - held
        entry.pieces = kept
        entry.held = held

    def _expire(self, ts_ns: int) -> None:
        pending = self._pending
        while pending:
            key, entry = next(iter(pending.items()))
            if ts_ns - entry.first_ts <= self.timeout_ns:
                break
            del pending[key]
            self._held -= entry.held
            self.stats.expired += 1

    def _make_room(self) -> None:
        while len(self._pending) > self.max_pending:
            self._evict_oldest()

    def _evict_oldest(self) -> None:
        _key, entry = self._pending.popitem(last=False)
        self._held -= entry.held
        self.stats.evicted += 1

    def _drop(self, key: Hashable) -> None:
        entry = self._pending.pop(key, None)
        if entry is not None:
            self._held -= entry.held


def _start(piece: tuple[int, bytes]) -> int:
    return piece[0]
